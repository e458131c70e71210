// Builds a folder under a temporary name beside its target and renames it into place on commit(),
// so a cancelled or failed export never leaves a half-written folder. Without commit() the
// temporary folder is removed.
#pragma once
#include <string>

namespace ps {

class AtomicDir {
public:
    explicit AtomicDir(std::string target);  // throws ps::Error if target already exists
    ~AtomicDir();
    AtomicDir(const AtomicDir&) = delete;
    AtomicDir& operator=(const AtomicDir&) = delete;

    const std::string& path() const { return temp_; }  // write the folder's files here
    void commit();

private:
    std::string target_;
    std::string temp_;
    bool committed_ = false;
};

}  // namespace ps
