// SPDX-License-Identifier: Apache-2.0
// An hf_space `inputs` element (the config's GradioInput, mapped in GatewayPlan+Config).

/// One element of an hf_space `inputs` array (the config's GradioInput, in this module's terms).
public enum GradioDataInput: Equatable, Sendable {
    /// `$name`: the request field `name`.
    case field(String)
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null
}
