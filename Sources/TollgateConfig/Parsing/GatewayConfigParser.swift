// SPDX-License-Identifier: Apache-2.0
// The root mapping → GatewayConfig. Sections are read in dependency order (groups and
// backends before the models and users that name them); diagnostics are sorted by line at
// the end, so the order here does not show.
enum GatewayConfigParser {
    static let sections = ["server", "storage", "admin", "metrics", "defaults", "groups", "backends", "models",
                           "users", "budgets"]

    static func parse(_ root: YAMLNode, context: ConfigContext) -> GatewayConfig? {
        let rootNode = ConfigNode(node: root, path: "", context: context)
        guard case .mapping = root else {
            rootNode.error("the config must be a mapping with keys like server, backends, models and users, got \(rootNode.shapeDescription)")
            return nil
        }
        guard let m = MappingReader(rootNode) else { return nil }
        m.checkKeys(allowed: sections)

        let server = ServerSectionParser.parse(m["server"])
        let storage = GeneralSectionParser.storage(m["storage"])
        let admin = GeneralSectionParser.admin(m["admin"])
        let metrics = GeneralSectionParser.metrics(m["metrics"], admin: admin)
        let defaults = GeneralSectionParser.defaults(m["defaults"])
        let groups = GeneralSectionParser.groups(m["groups"])
        let backends = BackendSectionParser.parse(m["backends"])
        let models = ModelSectionParser.parse(m["models"], declaredBackends: declaredNames(m["backends"]))
        let users = UserSectionParser.parse(m["users"], declaredGroups: declaredNames(m["groups"]),
                                            declaredModels: declaredNames(m["models"]))
        let budgets = GeneralSectionParser.budgets(m["budgets"])

        checkAdminKey(admin, users: users, context: context)
        warnAboutUnused(backends: backends, referenced: referencedBackends(m["models"]), models: models, m: m,
                        context: context)

        return GatewayConfig(server: server, storage: storage, admin: admin, metrics: metrics, defaults: defaults,
                             groups: groups, backends: backends, models: models, users: users, budgets: budgets,
                             sourceFile: context.file)
    }

    /// The names written under a section, whatever their contents; a repeated name once.
    private static func declaredNames(_ node: ConfigNode?) -> [String] {
        guard let node, case .mapping(let mapping) = node.node else { return [] }
        return mapping.lastOfEachKey.compactMap { pair in
            guard case .scalar(let scalar) = pair.key else { return nil }
            return scalar.string
        }
    }

    /// Backend names written in any model's `backends` list, valid or not.
    private static func referencedBackends(_ node: ConfigNode?) -> Set<String> {
        guard let node, case .mapping(let models) = node.node else { return [] }
        var names = Set<String>()
        for (_, model) in models {
            guard case .mapping(let settings) = model, case .sequence(let list)? = settings["backends"] else { continue }
            for case .scalar(let scalar) in list { names.insert(scalar.string) }
        }
        return names
    }

    /// The admin key must not also be a client key: a user could then call /admin.
    private static func checkAdminKey(_ admin: AdminConfig, users: [UserConfig], context: ConfigContext) {
        guard let adminKey = admin.key else { return }
        for user in users where user.keys.contains(where: { $0.digest == adminKey.digest }) {
            context.error(adminKey.line, "admin.key", "must differ from every client key (user '\(user.name)' has the same key)")
        }
    }

    /// Not errors, but almost always a mistake worth a line in `check-config`.
    private static func warnAboutUnused(backends: [BackendConfig], referenced: Set<String>, models: [ModelConfig],
                                        m: MappingReader, context: ConfigContext) {
        for backend in backends where !referenced.contains(backend.name) {
            context.warning(backend.line, "backends.\(backend.name)", "no model uses this backend")
        }
        if !models.isEmpty, declaredNames(m["users"]).isEmpty {
            context.warning(m.ownerLine, "", "no users are configured, so every API request is refused with 401")
        }
    }
}
