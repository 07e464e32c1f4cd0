/**
 * Undo, in reverse order, everything the benchmark set up: daemons,
 * registries, containers and images on peer engines, temporary directories.
 * Steps run on normal exit, on failure and after SIGINT/SIGTERM/SIGHUP
 * (which stop new commands, let those under way finish, and unwind the
 * figures to the same `finally`); a step that fails is reported and the
 * others still run.
 */
import { allowCleanupCommands, interrupt, settle } from './proc.js';

export class Cleanup {
  private readonly steps: { what: string; undo: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  /** Registers `undo`; it runs before every step registered earlier. */
  add(what: string, undo: () => Promise<void> | void): void {
    this.steps.push({ what, undo });
  }

  /** Runs (once) every registered step, last registered first. */
  runAll(): Promise<void> {
    this.running ??= (async () => {
      await settle();
      allowCleanupCommands();
      while (this.steps.length) {
        const step = this.steps.pop()!;
        try {
          await step.undo();
        } catch (e) {
          process.stderr.write(`bench: clean-up of ${step.what} failed: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
    })();
    return this.running;
  }

  /**
   * On these signals: stop starting commands, so the run unwinds to its
   * clean-up; `exitCode` is then 128 + the signal's number. A second signal
   * while cleaning up is ignored (the clean-up is what it would interrupt).
   */
  onSignals(): void {
    const codes: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
    for (const [signal, n] of Object.entries(codes)) {
      process.on(signal, () => {
        if (this.signalExitCode !== undefined) return;
        this.signalExitCode = 128 + n;
        process.stderr.write(`bench: ${signal}: letting the commands under way finish, then cleaning up…\n`);
        interrupt();
      });
    }
  }

  /** 128 + the signal's number once a signal came. */
  signalExitCode: number | undefined;
}
