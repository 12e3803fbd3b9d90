/**
 * A handler gets its arguments followed by the task context. Given fewer arguments than it takes, the
 * context lands in a parameter meant for an argument: `add(a, b)` given `[1]` computed `1 + ctx`, which
 * is "1[object Object]". Counting before the run cannot tell that apart from a correct call: at run time
 * `(a, b) => a + b` and `(id, ctx) => ...` both declare two parameters, and an optional parameter
 * (`b?: number`) counts like a required one. So the run is refused only when it is certain: when the
 * context is used as a value (turned into a number or a string), which a task context never is.
 */
import { TaskArgumentsError } from './errors.js';
import type { TaskContext } from './task.js';

/**
 * Make `context` fail the run with a TaskArgumentsError naming the counts as soon as it is used as a
 * number or a string. `given` is the number of arguments the package carries; `declared` the handler's
 * `length` (its parameters before the first one with a default or a rest parameter).
 */
export function guardTaskContext(
  context: TaskContext,
  task: string,
  given: number,
  declared: number,
): TaskContext {
  Object.defineProperty(context, Symbol.toPrimitive, {
    enumerable: false,
    value: () => {
      throw new TaskArgumentsError(misuseMessage(task, given, declared));
    },
  });
  return context;
}

function misuseMessage(task: string, given: number, declared: number): string {
  const arguments_ = `${given} argument${given === 1 ? '' : 's'}`;
  const position = given + 1;
  const aside = ' (a task context itself is never a number or a string)';
  if (declared >= position) {
    // The parameter that received the context has no default, and is used as a value: it is an argument.
    // Past it, the handler's last parameter may be the context or one more argument.
    const takes = declared === position ? `${declared}` : `${declared - 1} or ${declared}`;
    return (
      `task ${task} was given ${arguments_} but takes ${takes}: its parameter ${position} received the task ` +
      `context, which follows the arguments given, and used it as a value${aside}; enqueue it with ${takes} arguments`
    );
  }
  return (
    `task ${task} was given ${arguments_}; the task context, which follows the arguments, landed in its ` +
    `parameter ${position} (optional or rest) and was used as a value${aside}: pass that argument too, or ` +
    'read the context with currentTask() in a handler with optional or rest parameters'
  );
}
