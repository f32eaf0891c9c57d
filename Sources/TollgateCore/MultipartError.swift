// SPDX-License-Identifier: Apache-2.0
// Why a multipart/form-data body (RFC 7578, RFC 2046 §5.1) was refused. Each case is a 400 for
// the client; none of them is reachable as a trap.

package enum MultipartError: Error, Equatable, Sendable {
    /// The Content-Type is not `multipart/form-data`.
    case notMultipartFormData
    /// The Content-Type has no `boundary` parameter.
    case missingBoundary
    /// The boundary is empty, over 70 characters, ends in a space or has a character outside
    /// RFC 2046's `bchars`; or the Content-Type's parameters do not parse.
    case invalidBoundary
    /// A part's header block is larger than `MultipartParser.maxHeaderBytes`.
    case headersTooLarge
    /// More than `MultipartParser.maxParts` parts.
    case tooManyParts
    /// More than `MultipartParser.maxPreambleBytes` before the first delimiter.
    case preambleTooLarge
    /// A delimiter line has something other than transport padding (SP / HT, bounded) before
    /// its CRLF.
    case invalidDelimiterLine
    /// Something other than transport padding and line ends after the close delimiter.
    case trailingData
    /// The body ended before the close delimiter.
    case truncated
    /// A header line ends in a bare LF or has a bare CR.
    case headerLineWithoutCRLF
    /// A header line without a colon, with an empty or invalid name, or folded (obs-fold).
    case invalidHeaderLine
    /// A part without a Content-Disposition header (RFC 7578 §4.2 makes it mandatory).
    case missingContentDisposition
    /// A Content-Disposition that is not `form-data` or whose parameters do not parse, or a
    /// second Content-Disposition.
    case invalidContentDisposition
    /// A Content-Disposition without its `name` parameter (RFC 7578 §4.2).
    case missingName
}
