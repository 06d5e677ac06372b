/**
 * An image transfer as a job: the same checks and fan-out as POST /v2/transfer, with progress
 * per block (of eight) and a cancel that aborts the blocks still running.
 */
import type { Root } from "../root.js";
import { transferService } from "../transfer.js";
import type { JobContext } from "./runner.js";

export async function runTransferJob(
  root: Pick<Root, "get">,
  ctx: JobContext,
): Promise<Record<string, unknown>> {
  const service = root.get(transferService);
  // Checked again: the dataset's models may have changed since the job was accepted.
  const checked = await service.check(ctx.input);
  await ctx.progress(0, 8, "transferring 8 blocks");
  const answer = await service.run(checked, {
    signal: ctx.signal,
    // A rejection here is a seen cancel, which has aborted ctx.signal already.
    onBlock: (done, total) => void ctx.progress(done, total, `${done} of ${total} blocks`).catch(() => {}),
  });
  return { ...answer };
}
