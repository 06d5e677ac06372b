/** The project id every test layer uses (a `demo-` id keeps firebase-tools and the SDKs local). */
export const TEST_PROJECT_ID = "demo-neurofire";
