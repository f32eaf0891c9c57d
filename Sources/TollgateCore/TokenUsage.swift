// SPDX-License-Identifier: Apache-2.0

/// Token counts a backend reported, if any.
public struct TokenUsage: Sendable, Equatable {
    public var promptTokens: Int?
    public var completionTokens: Int?
    public init(promptTokens: Int? = nil, completionTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }
}
