// errors.js — why a message could not be decrypted (§7 of docs/e2ee.md).
// The reason is shown to the user as "could not decrypt: <reason>"; the
// text of such a message is never shown.

export const FORGED_OR_CORRUPTED = 'forged or corrupted';
export const TRUNCATED = 'truncated';
export const REPLAYED = 'replayed or reordered';
export const FORGED = 'forged';
export const NOT_FOR_THIS_DEVICE = 'not encrypted for this device';
export const NO_SENDER_KEY = 'missing sender key';
export const UNKNOWN_DEVICE = 'unknown sender device';

export class DecryptError extends Error {
  constructor(reason, detail) {
    super('could not decrypt: ' + reason);
    this.name = 'DecryptError';
    this.reason = reason;
    this.detail = detail;
  }
}

// asDecryptError maps any failure to a DecryptError: malformed input
// (TypeError, RangeError, SyntaxError) is "truncated", everything else
// (WebCrypto's OperationError on a bad tag…) is "forged or corrupted".
export function asDecryptError(e) {
  if (e instanceof DecryptError) return e;
  if (e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError) return new DecryptError(TRUNCATED, e.message);
  return new DecryptError(FORGED_OR_CORRUPTED, e && e.message);
}
