// The scratch folder of a fuzz target that reads a user's file naming images: one per process,
// holding a.png (not an image: the readers only check that it exists) beside the input file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace ps_fuzz {

// Writes the input to <folder>/<file> and returns its path; the folder is <tmp>/<target>.<pid>.
inline std::string write_input(const char* target, const char* file, const uint8_t* data, size_t size) {
    static const std::string dir = [target] {
        const std::string d = std::filesystem::temp_directory_path().string() + "/" + target + "." + std::to_string(getpid());
        std::filesystem::create_directories(d);
        std::ofstream(d + "/a.png") << "not decoded";
        return d;
    }();
    const std::string path = dir + "/" + file;
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path;
}

}  // namespace ps_fuzz
