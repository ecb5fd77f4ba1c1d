/**
 * A stack's files or config that cannot be read as they are (a file that is
 * not YAML, an object without a namespace, a config without
 * `environmentLabel`). The message names the file or value and the fix. The
 * shared readers throw it; the deploy and the review each report it as their
 * own failure, with their own exit code.
 */
export class StackError extends Error {}
