// SPDX-License-Identifier: Apache-2.0
// How a pause or wake call ended: the gateway's IdleLifecycle moves on `.done` and retries after
// `after` (pause) or on the next request (wake) on `.failed`. The text never holds a credential.

public enum IdleCallResult: Sendable, Equatable {
    case done
    case failed(String)
}
