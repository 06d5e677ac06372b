// Type-aware linting for every TypeScript file in the repo; formatting is Prettier's job.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

/** One no-restricted-imports rule per layer: relative paths it must not reach, packages it must not load. */
function layers(rules) {
  return rules.map(({ files, forbid, packages = [] }) => ({
    files,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: forbid,
              message: "Imports point one way (see DESIGN.md): this layer may not import that one.",
            },
            ...(packages.length
              ? [
                  {
                    group: packages,
                    allowTypeImports: true,
                    message: "This layer reaches that through a lower one.",
                  },
                ]
              : []),
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ["**/node_modules/**", "functions/lib/**", "public/**", "emulator-data/**", ".tmp/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.mjs"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": ["error", { allow: ["warn", "error"] }],
      eqeqeq: ["error", "always"],
    },
  },
  {
    // Command-line scripts, benchmarks and test servers talk to a terminal.
    files: ["scripts/**", "bench/**", "functions/loopback/**"],
    rules: { "no-console": "off" },
  },
  // Imports point one way: index.ts → api/, triggers/ → http/ → services/ → auth/, store/,
  // storage/, sources/, search/ → schemas/, config.ts, errors.ts, log.ts. Each layer lists what
  // it must not import; a violation fails the lint (and so CI).
  ...layers([
    {
      files: ["functions/src/api/**"],
      forbid: ["**/triggers/**", "../index.js"],
      // Handlers reach Firestore and the SDKs through services, never directly.
      packages: ["firebase-admin/*", "@google-cloud/*"],
    },
    { files: ["functions/src/http/**"], forbid: ["**/api/**", "**/triggers/**", "../index.js"] },
    {
      files: ["functions/src/services/**"],
      forbid: ["**/http/**", "**/api/**", "**/triggers/**", "../index.js"],
      packages: ["express"],
    },
    {
      files: ["functions/src/{auth,store,storage,sources,search}/**"],
      forbid: ["**/services/**", "**/http/**", "**/api/**", "**/triggers/**", "../index.js"],
      packages: ["express"],
    },
    {
      files: ["functions/src/schemas/**", "functions/src/{config,errors,log}.ts"],
      forbid: [
        "**/auth/**",
        "**/store/**",
        "**/storage/**",
        "**/sources/**",
        "**/search/**",
        "**/services/**",
        "**/http/**",
        "**/api/**",
        "**/triggers/**",
        "../index.js",
      ],
      packages: ["express"],
    },
  ]),
  {
    files: ["**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);
