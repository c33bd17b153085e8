/** The `vtscope` command: dispatches to a subcommand and turns its errors into exit statuses. */
import { version } from '../../package.json';
import { LoadError } from '../loader/multiboot';
import { asmCommand } from './asmCommand';
import { compareCommand } from './compareCommand';
import { dapCommand } from './dapCommand';
import { runCommand } from './runCommand';
import { writeAll } from './stdoutSink';
import { EX_DATAERR, EX_SOFTWARE, EX_USAGE, USAGE, UsageError } from './usage';

function main(args: string[]): number {
  const [command, ...rest] = args;
  if (command === '--help' || command === '-h' || ((command === 'run' || command === 'asm' || command === 'compare') && rest.some((a) => a === '--help' || a === '-h'))) {
    writeAll(1, Buffer.from(USAGE));
    return 0;
  }
  if (command === '--version') {
    writeAll(1, Buffer.from(`vtscope ${version}\n`));
    return 0;
  }
  if (command === undefined) throw new UsageError('missing command');
  if (command === 'run') return runCommand(rest);
  if (command === 'asm') return asmCommand(rest);
  if (command === 'compare') return compareCommand(rest);
  if (command === 'dap') return dapCommand(rest);
  throw new UsageError(`unknown command '${command}'`);
}

function exitStatus(args: string[]): number {
  try {
    return main(args);
  } catch (e) {
    if (e instanceof UsageError) {
      writeAll(2, Buffer.from(`vtscope: ${e.message}\nTry 'vtscope --help'.\n`));
      return EX_USAGE;
    }
    if (e instanceof LoadError) {
      writeAll(2, Buffer.from(`vtscope: ${e.message}\n`));
      return EX_DATAERR;
    }
    writeAll(2, Buffer.from(`vtscope: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`));
    return EX_SOFTWARE;
  }
}

// Output is written synchronously, so setting the status (not calling process.exit) loses nothing.
process.exitCode = exitStatus(process.argv.slice(2));
