// SPDX-License-Identifier: Apache-2.0
// libyaml for Swift (Debian libyaml-dev, pkg-config yaml-0.1): the config loader reads the
// parser's event stream (yaml_parser_parse), whose start marks give every node its line.
// Nothing needs wrapping: no variadic calls, and the event's union imports as a struct.
#ifndef TOLLGATE_CYAML_SHIM_H
#define TOLLGATE_CYAML_SHIM_H

#include <yaml.h>

#endif
