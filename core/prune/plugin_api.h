// What a plugin compiles against: the interface version and the host it registers through. A
// plugin is a shared library built against core's headers and LibTorch only (it does not link
// core; core reaches it through the host it hands over). It exports
//
//   extern "C" const int prunestudio_plugin_abi = ps::kPluginAbi;
//   extern "C" void prunestudio_register_plugin(ps::PluginHost& host) { host.add_method({...}); }
//
// and everything it registers is listed with the plugin's file as its origin (plugins/ria is the
// example). Loading is core/prune/plugins.h.
#pragma once
#include "core/prune/registry.h"

namespace ps {

// Bumped whenever PluginHost, PruneMethod, LayerInput, Allocator or the types they carry change.
constexpr int kPluginAbi = 4;

// What a plugin registers through; throws ps::Error as register_method / register_allocator do.
class PluginHost {
public:
    virtual void add_method(PruneMethod method) = 0;
    virtual void add_allocator(Allocator allocator) = 0;

protected:
    virtual ~PluginHost() = default;
};

}  // namespace ps
