export type BilevelErrorCode =
  | 'SHAPE_MISMATCH'
  | 'DTYPE'
  | 'DEVICE'
  | 'DISPOSED'
  | 'INVALID_ARGUMENT'
  | 'NON_FINITE'
  /** A file could not be read or written (the system's reason in the message). */
  | 'IO'
  /** An allocation failed (the tensors asked for more memory than the device has). */
  | 'OUT_OF_MEMORY'
  /** A multi-process run failed: a rank stopped or died, the rendezvous failed, or this build has no Gloo. */
  | 'DISTRIBUTED'
  | 'NATIVE';

/** The one error type of the library; `code` says what kind of failure it is. */
export class BilevelError extends Error {
  readonly code: BilevelErrorCode;

  constructor(code: BilevelErrorCode, message: string, cause?: Error) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'BilevelError';
    this.code = code;
  }
}
