/**
 * Why an HTTP/1.1 request was refused: a kind (what the tests and the logs key on), the status
 * the client gets, and a reason written for the client (the body of the refusal).
 *
 * Every refusal closes the connection afterwards: once a request's framing is in doubt, nothing
 * that follows it on the same connection can be trusted to start where the client meant it to
 * (RFC 9112 §9.3.2, §11.2).
 */

/** Every way a request can be refused before a handler sees it. */
export type RequestFailureKind =
  /** The request line is not `METHOD SP target SP HTTP/x.y` (400). */
  | 'request-line'
  /** The method is not a token (400). */
  | 'method'
  /** The request-target is not origin, absolute, or asterisk form for OPTIONS (400). */
  | 'target'
  /** The version is not `HTTP/<digit>.<digit>` (400). */
  | 'version'
  /** A well-formed version other than 1.0 / 1.1 (505). */
  | 'version-unsupported'
  /** The request line is longer than the limit (414). */
  | 'target-too-long'
  /** The request head is larger than the limit (431). */
  | 'head-too-large'
  /** More header fields than the limit (431). */
  | 'too-many-fields'
  /** A field name that is not a token, or whitespace before the colon (400). */
  | 'field-name'
  /** A control character (NUL, bare CR, DEL, …) in a field value (400). */
  | 'field-value'
  /** A field line continued on the next line, obsolete since RFC 7230 (400). */
  | 'obs-fold'
  /** A line ended by a bare LF or containing a bare CR (400). */
  | 'line-ending'
  /** Missing (HTTP/1.1), repeated or malformed Host (400). */
  | 'host'
  /** Content-Length repeated, in list form, signed, or not digits (400). */
  | 'content-length'
  /** Transfer-Encoding whose last coding is not chunked, or on HTTP/1.0 (400). */
  | 'transfer-encoding'
  /** A transfer coding the server does not implement (501). */
  | 'transfer-coding-unsupported'
  /** Both Content-Length and Transfer-Encoding (400). */
  | 'ambiguous-framing'
  /** A malformed chunked body: size, extension, line ends, trailers (400). */
  | 'chunk'
  /** The connection ended in the middle of a request (400). */
  | 'incomplete'
  /** An Expect value other than 100-continue (417). */
  | 'expectation'
  /** A method the server does not serve, such as CONNECT on a reverse proxy (405). */
  | 'method-not-allowed'
  /** The body is larger than the limit (413). */
  | 'body-too-large'
  /** The request head did not arrive within the header timeout (408). */
  | 'header-timeout'
  /** No body bytes within the body timeout (408). */
  | 'body-timeout';

/** A refused request: its kind, the status to answer with, and a reason for the client. */
export interface RequestFailure {
  readonly failed: true;
  readonly kind: RequestFailureKind;
  readonly status: number;
  readonly reason: string;
}

const STATUS: Readonly<Record<RequestFailureKind, number>> = {
  'request-line': 400,
  method: 400,
  target: 400,
  version: 400,
  'version-unsupported': 505,
  'target-too-long': 414,
  'head-too-large': 431,
  'too-many-fields': 431,
  'field-name': 400,
  'field-value': 400,
  'obs-fold': 400,
  'line-ending': 400,
  host: 400,
  'content-length': 400,
  'transfer-encoding': 400,
  'transfer-coding-unsupported': 501,
  'ambiguous-framing': 400,
  chunk: 400,
  incomplete: 400,
  expectation: 417,
  'method-not-allowed': 405,
  'body-too-large': 413,
  'header-timeout': 408,
  'body-timeout': 408,
};

/** The failure of `kind`; `reason` is a sentence for the client ("Bad request: …" is added). */
export function requestFailure(kind: RequestFailureKind, reason: string): RequestFailure {
  return { failed: true, kind, status: STATUS[kind], reason };
}

/** The status a kind is answered with. */
export function statusOf(kind: RequestFailureKind): number {
  return STATUS[kind];
}
