/**
 * Example support: a node logger that prints the first line of each report,
 * so the crashes the examples cause on purpose show as one line, not a stack.
 * @module
 */
export function oneLineLogger(level: 'error' | 'warning' | 'info', message: string): void {
  console.log(`[${level}] ${message.split('\n', 1)[0]}`);
}
