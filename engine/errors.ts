/** An error a person can act on: printed without a stack trace by the command line and shown as-is by the app. */
export class DlensError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DlensError';
  }
}
