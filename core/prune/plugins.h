// Loading plugins (core/prune/plugin_api.h) at start-up: from the folders of
// PRUNESTUDIO_PLUGIN_PATH, else the plugins folder the build puts next to the executables. A
// plugin that cannot be loaded is a one-line warning naming the file and the reason, never a
// crash. Torch-free, for the front ends.
#pragma once
#include <string>
#include <vector>

namespace ps {

struct PluginLoadReport {
    std::vector<std::string> loaded;    // plugin files that registered everything they offered
    std::vector<std::string> warnings;  // "<file>: <reason>", one per file that failed
};

// Where plugins are looked for: the ':'-separated entries of `env_path` (PRUNESTUDIO_PLUGIN_PATH)
// when it is given, else <executable_dir>/plugins, <executable_dir>/../plugins (where the build
// puts them: <build>/plugins next to <build>/app) and <executable_dir>/../lib/prunestudio/plugins
// (an installed package's), those that exist.
std::vector<std::string> plugin_search_path(const char* env_path, const std::string& executable_dir);

// Loads every entry: a plugin file, or a folder whose *.so files are loaded in name order. A file
// loaded before (same canonical path) is skipped silently; a missing entry is a warning.
PluginLoadReport load_plugins(const std::vector<std::string>& paths);

// The front ends' one call at start-up: loads the plugins of plugin_search_path() for this process
// and prints each warning on stderr as "warning: plugin <file>: <reason>".
PluginLoadReport load_default_plugins();

}  // namespace ps
