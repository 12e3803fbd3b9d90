/**
 * node:sqlite (the embedded default broker) prints an ExperimentalWarning the first time it loads. It
 * says nothing an operator can act on, so tasq's own processes leave that one warning out: the `tasq`
 * command and the worker processes and threads it starts. Importing @tasq/cluster never installs this,
 * so an application that embeds tasq keeps Node's warnings as they are; every other warning is shown.
 */
const SQLITE_WARNING = 'SQLite is an experimental feature';

let installed = false;

export function hideSqliteExperimentalWarning(): void {
  if (installed) return;
  installed = true;
  const emitWarning = process.emitWarning;
  process.emitWarning = function withoutSqliteWarning(
    this: NodeJS.Process,
    warning: string | Error,
    ...rest: unknown[]
  ) {
    const message = typeof warning === 'string' ? warning : warning?.message;
    if (message?.includes(SQLITE_WARNING)) return;
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
}
