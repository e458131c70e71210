#include "core/prune/plugins.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <system_error>

#include "core/error.h"
#include "core/prune/plugin_api.h"

namespace ps {
namespace {

namespace fs = std::filesystem;

// Registers in the plugin's name: everything it adds has its file as the origin.
class Host final : public PluginHost {
public:
    explicit Host(std::string file) : file_(std::move(file)) {}
    void add_method(PruneMethod method) override {
        method.origin = file_;
        register_method(std::move(method));
    }
    void add_allocator(Allocator allocator) override {
        allocator.origin = file_;
        register_allocator(std::move(allocator));
    }

private:
    std::string file_;
};

std::mutex g_mu;
std::set<std::string> g_loaded;  // canonical paths; their handles stay open for the process's life

// dlerror() without the file name it usually starts with: the warning names the file already.
std::string dl_reason(const std::string& file) {
    const char* e = dlerror();
    std::string s = e ? e : "unknown dynamic loader error";
    if (s.rfind(file + ": ", 0) == 0) s = s.substr(file.size() + 2);
    return s;
}

// Empty on success, else the reason.
std::string load_one(const std::string& file) {
    void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) return dl_reason(file);
    using Register = void (*)(PluginHost&);
    const auto reg = reinterpret_cast<Register>(dlsym(handle, "prunestudio_register_plugin"));
    const auto* abi = static_cast<const int*>(dlsym(handle, "prunestudio_plugin_abi"));
    if (!reg || !abi) {
        dlclose(handle);
        return "exports no prunestudio_register_plugin / prunestudio_plugin_abi: not a PruneStudio plugin";
    }
    if (*abi != kPluginAbi) {
        const std::string why = "built for plugin interface " + std::to_string(*abi) + ", this PruneStudio has " +
                                std::to_string(kPluginAbi);
        dlclose(handle);
        return why;
    }
    Host host(file);
    try {  // what it registered before a failure stays, so its code stays loaded
        reg(host);
    } catch (const std::exception& e) {
        return first_line(e);
    } catch (...) {
        return "its registration threw an unknown exception";
    }
    return "";
}

void load_file(const std::string& file, PluginLoadReport& report) {
    std::error_code ec;
    const std::string canonical = fs::canonical(file, ec).string();
    if (ec) {
        report.warnings.push_back(file + ": " + ec.message());
        return;
    }
    if (!g_loaded.insert(canonical).second) return;
    const std::string why = load_one(file);
    if (why.empty()) report.loaded.push_back(file);
    else report.warnings.push_back(file + ": " + why);
}

}  // namespace

std::vector<std::string> plugin_search_path(const char* env_path, const std::string& executable_dir) {
    std::vector<std::string> out;
    if (env_path) {
        const std::string s = env_path;
        size_t begin = 0;
        while (begin <= s.size()) {
            const size_t end = std::min(s.find(':', begin), s.size());
            if (end > begin) out.push_back(s.substr(begin, end - begin));
            begin = end + 1;
        }
        return out;
    }
    // The build's folders, then an installed layout's (<prefix>/bin and <prefix>/lib/prunestudio/plugins).
    const fs::path exe(executable_dir);
    for (const fs::path& dir : {exe / "plugins", exe.parent_path() / "plugins", exe.parent_path() / "lib" / "prunestudio" / "plugins"}) {
        std::error_code ec;
        if (fs::is_directory(dir, ec)) out.push_back(dir.lexically_normal().string());
    }
    return out;
}

PluginLoadReport load_plugins(const std::vector<std::string>& paths) {
    std::lock_guard<std::mutex> lock(g_mu);
    PluginLoadReport report;
    for (const std::string& path : paths) {
        std::error_code ec;
        if (!fs::is_directory(path, ec)) {
            load_file(path, report);
            continue;
        }
        std::vector<std::string> files;
        for (const fs::directory_entry& e : fs::directory_iterator(path, ec))
            if (e.path().extension() == ".so" && !e.is_directory(ec)) files.push_back(e.path().string());
        if (ec) report.warnings.push_back(path + ": " + ec.message());
        std::sort(files.begin(), files.end());
        for (const std::string& f : files) load_file(f, report);
    }
    return report;
}

PluginLoadReport load_default_plugins() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    const PluginLoadReport report =
        load_plugins(plugin_search_path(std::getenv("PRUNESTUDIO_PLUGIN_PATH"), ec ? "." : exe.parent_path().string()));
    for (const std::string& w : report.warnings) std::fprintf(stderr, "warning: plugin %s\n", w.c_str());
    return report;
}

}  // namespace ps
