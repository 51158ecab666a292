/**
 * User-facing error classes. The CLI prints `neqspin: <message>` (one line) and exits with code 2
 * for any UserError; everything else is an internal error (exit 1).
 */

/** Bad input from the user (configuration, files, arguments). Message: one line naming the culprit. */
export class UserError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = new.target.name;
  }
}

/** Invalid configuration field: message `config error: <field.path>: <reason>`. */
export class ConfigError extends UserError {
  readonly field: string;
  readonly reason: string;
  constructor(field: string, reason: string) {
    super(`config error: ${field ? field + ': ' : ''}${reason}`);
    this.field = field;
    this.reason = reason;
  }
}

/** Malformed or inconsistent file: message `<file>: <field>: <reason>`. */
export class FormatError extends UserError {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.file = file;
  }
}

/**
 * A run that stopped for a physical/numerical reason (e.g. divergence): one line, exit code 1,
 * the last good state kept where the message says.
 */
export class RunError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = new.target.name;
  }
}
