#include "core/io/checkpoint.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/io/gguf_checkpoint.h"
#include "core/io/json_util.h"

namespace fs = std::filesystem;

namespace ps {
namespace {

std::vector<std::string> files_with_extension(const fs::path& dir, const std::vector<std::string>& exts) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (!e.is_regular_file()) continue;
        std::string ext = e.path().extension().string();
        if (std::find(exts.begin(), exts.end(), ext) != exts.end()) out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& dir_in) {
    fs::path dir(dir_in);
    std::error_code ec;
    if (!fs::exists(dir, ec)) throw Error(dir_in, "no such folder");
    Checkpoint c;
    c.dir_ = fs::absolute(dir).lexically_normal().string();
    if (!c.dir_.empty() && c.dir_.back() == '/' && c.dir_.size() > 1) c.dir_.pop_back();
    if (is_gguf_path(dir_in)) {
        GgufCheckpoint g = gguf_checkpoint(*GgufFile::open(dir_in));
        c.config_path_ = c.dir_;
        c.config_ = std::make_shared<const nlohmann::json>(std::move(g.config));
        c.shards_.push_back(g.tensors);
        for (const auto& t : g.tensors->tensors()) c.entries_.emplace(t.name, Entry{&t, g.tensors});
        for (const auto& [name, _] : c.entries_) c.names_.push_back(name);
        return c;
    }
    if (!fs::is_directory(dir, ec))
        throw Error(dir_in, "not a folder (open the checkpoint folder, not a file in it, or a .gguf file)");

    c.config_path_ = c.dir_ + "/config.json";
    const std::string cfg = c.config_path();
    if (!fs::exists(cfg, ec)) throw Error(cfg, "missing (not a Hugging Face checkpoint folder)");
    auto config = read_json_file(cfg);
    if (!config.is_object()) throw Error(cfg, "not a JSON object");
    c.config_ = std::make_shared<const nlohmann::json>(std::move(config));

    auto add_shard = [&](const std::string& file) {
        auto shard = SafetensorsFile::open((dir / file).string());
        c.shards_.push_back(shard);
        return shard;
    };
    auto add_entry = [&](const std::string& name, const TensorInfo* info, const std::shared_ptr<const SafetensorsFile>& s) {
        if (!c.entries_.emplace(name, Entry{info, s}).second)
            throw Error(s->path(), "tensor '" + name + "' also appears in another shard");
    };

    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::exists(index, ec)) {
        auto j = read_json_file(index.string());
        auto wm = j.find("weight_map");
        if (!j.is_object() || wm == j.end() || !wm->is_object())
            throw Error(index.string(), "missing \"weight_map\" object");
        std::map<std::string, std::shared_ptr<const SafetensorsFile>> by_file;
        for (auto it = wm->begin(); it != wm->end(); ++it) {
            if (!it->is_string()) throw Error(index.string(), "weight_map entry '" + it.key() + "' is not a file name");
            const std::string file = it->get<std::string>();
            if (file.find('/') != std::string::npos || file == "..")
                throw Error(index.string(), "shard name '" + file + "' must be a file in the checkpoint folder");
            auto sit = by_file.find(file);
            if (sit == by_file.end()) {
                if (!fs::exists(dir / file, ec))
                    throw Error(index.string(), "shard '" + file + "' named in the index is missing");
                sit = by_file.emplace(file, add_shard(file)).first;
            }
            const TensorInfo* info = sit->second->find(it.key());
            if (!info)
                throw Error(sit->second->path(), "tensor '" + it.key() + "' listed in the index is not in this shard");
            add_entry(it.key(), info, sit->second);
        }
    } else {
        std::vector<std::string> files;
        if (fs::exists(dir / "model.safetensors", ec))
            files.push_back("model.safetensors");
        else
            files = files_with_extension(dir, {".safetensors"});
        if (files.empty()) {
            auto pickles = files_with_extension(dir, {".bin", ".pt", ".pth", ".ckpt"});
            if (!pickles.empty())
                throw Error((dir / pickles.front()).string(),
                            "pickle checkpoints are not loaded (they can run code); convert to safetensors first");
            throw Error(c.dir_, "no .safetensors weights in the folder");
        }
        for (const auto& f : files) {
            auto shard = add_shard(f);
            for (const auto& t : shard->tensors()) add_entry(t.name, &t, shard);
        }
    }
    for (const auto& [name, _] : c.entries_) c.names_.push_back(name);
    return c;
}

std::string Checkpoint::model_type() const {
    auto it = config_->find("model_type");
    return it != config_->end() && it->is_string() ? it->get<std::string>() : std::string();
}

const Checkpoint::Entry* Checkpoint::find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
}

const Checkpoint::Entry& Checkpoint::at(const std::string& name) const {
    const Entry* e = find(name);
    if (!e) throw Error(dir_, "tensor '" + name + "' is missing from the checkpoint");
    return *e;
}

uint64_t Checkpoint::total_bytes() const {
    uint64_t n = 0;
    for (const auto& s : shards_) n += s->file_size();
    return n;
}

}  // namespace ps
