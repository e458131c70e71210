#include "core/io/atomic_dir.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.h"

namespace fs = std::filesystem;

namespace ps {

AtomicDir::AtomicDir(std::string target) : target_(std::move(target)) {
    while (target_.size() > 1 && target_.back() == '/') target_.pop_back();
    std::error_code ec;
    if (fs::exists(target_, ec)) throw Error(target_, "already exists; choose a new folder");
    const fs::path parent = fs::path(target_).parent_path();
    if (!parent.empty() && !fs::is_directory(parent, ec)) throw Error(target_, "parent folder does not exist");
    std::random_device rd;
    for (int attempt = 0; attempt < 16; ++attempt) {
        temp_ = target_ + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000);
        if (fs::create_directory(temp_, ec)) return;
        if (ec) break;
    }
    throw Error(target_, "cannot create temporary folder: " + (ec ? ec.message() : std::string("name clash")));
}

AtomicDir::~AtomicDir() {
    if (!committed_) {
        std::error_code ec;
        fs::remove_all(temp_, ec);
    }
}

void AtomicDir::commit() {
    std::error_code ec;
    if (fs::exists(target_, ec)) throw Error(target_, "appeared while writing; not overwritten");
    if (std::rename(temp_.c_str(), target_.c_str()) != 0)
        throw Error(target_, std::string("rename failed: ") + std::strerror(errno));
    committed_ = true;
}

}  // namespace ps
