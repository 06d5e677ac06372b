/** Runs one request as every persona and checks the status each one gets. */
import assert from "node:assert/strict";
import { call, PERSONA_NAMES, resetToSeed, type Persona, type TestServer } from "./server.js";

export interface MatrixRequest {
  method: string;
  path: string;
  body?: unknown;
}

/**
 * For each persona: reset the database to the seed (so writes by one persona cannot change what
 * the next one sees), send the request with that persona's token, and compare statuses.
 */
export async function checkMatrix(
  server: TestServer,
  tokens: Record<Persona, string | undefined>,
  request: MatrixRequest | ((persona: Persona) => MatrixRequest),
  expected: Record<Persona, number>,
  seed: () => Promise<void> = async () => {},
): Promise<void> {
  const got = {} as Record<Persona, number>;
  for (const persona of PERSONA_NAMES) {
    await resetToSeed(server);
    await seed();
    const req = typeof request === "function" ? request(persona) : request;
    const res = await call(server.url, req.method, req.path, { token: tokens[persona], body: req.body });
    got[persona] = res.status;
  }
  assert.deepEqual(got, expected);
}
