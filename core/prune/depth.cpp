#include "core/prune/depth.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <set>

#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/atomic_dir.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint_files.h"
#include "core/io/json_util.h"
#include "core/io/tensor_view.h"
#include "core/model/config_reader.h"
#include "core/prune/allocation.h"
#include "core/prune/pattern.h"

namespace ps {
namespace fs = std::filesystem;
namespace {

// Σ over tokens of 1 − cos(h_in, h_out) along the last dimension, in double; `mask` [B,N] (0/1)
// weights the tokens when defined. A NaN cosine (a zero or non-finite state) counts as 0.5.
double influence(const at::Tensor& in, const at::Tensor& out, const at::Tensor& mask) {
    const at::Tensor a = in.to(at::kDouble), b = out.to(at::kDouble);
    const at::Tensor cos = ((a * b).sum(-1) / (a.pow(2).sum(-1).sqrt() * b.pow(2).sum(-1).sqrt())).nan_to_num(0.5);
    at::Tensor bi = 1.0 - cos;
    if (mask.defined()) bi = bi * mask;
    return bi.sum().item<double>();
}

// The tokens that count in a tower: the batch's attention mask for the language tower (whose hidden
// states run over input_ids' positions, LLaVA's image tokens included), every token elsewhere.
at::Tensor token_mask(const TowerInfo& tower, const VlmInputs& in, const StageState& s) {
    if (tower.modality != Modality::Language || !in.attention_mask.defined() || !s.hidden.defined()) return {};
    if (s.hidden.dim() != 3 || in.attention_mask.dim() != 2 || in.attention_mask.size(0) != s.hidden.size(0) ||
        in.attention_mask.size(1) != s.hidden.size(1))
        throw Error(tower.name + " tower", "attention_mask of " + shape_string(in.attention_mask) +
                                               " does not match its hidden states of " + shape_string(s.hidden));
    return in.attention_mask.to(s.hidden.device(), at::kDouble);
}

void check_tower(const Vlm& model, int tower) {
    const int n = static_cast<int>(model.towers().size());
    if (tower < 0 || tower >= n) throw Error("tower " + std::to_string(tower), "not a tower of this model (it has " + std::to_string(n) + ")");
}

// The tensor-name prefix of tower `t`'s blocks, e.g. "text_model.encoder.layer.", from the block
// paths of its Linears; checks that the checkpoint holds exactly the blocks the tower runs.
std::string block_prefix(const Vlm& model, int t) {
    const TowerInfo& tower = model.towers()[t];
    std::set<std::string> prefixes;
    std::set<int> blocks;
    for (const LinearLayer& l : model.map().linears) {
        if (l.modality != tower.modality || l.block < 0) continue;
        const std::string n = std::to_string(l.block);
        const size_t cut = l.group.size() >= n.size() + 1 ? l.group.size() - n.size() : 0;
        if (cut == 0 || l.group.compare(cut, n.size(), n) != 0 || l.group[cut - 1] != '.')
            throw Error(l.name, "block path \"" + l.group + "\" does not end in its block number " + n);
        prefixes.insert(l.group.substr(0, cut));
        blocks.insert(l.block);
    }
    const std::string where = tower.name + " tower";
    if (prefixes.empty()) throw Error(where, "no Linear layers inside blocks in the checkpoint");
    if (prefixes.size() > 1)
        throw Error(where, "blocks under " + std::to_string(prefixes.size()) + " prefixes (" + *prefixes.begin() + ", " +
                               *std::next(prefixes.begin()) + "); cannot tell which to renumber");
    const int n = tower.num_blocks;
    if (static_cast<int>(blocks.size()) != n || *blocks.begin() != 0 || *blocks.rbegin() != n - 1)
        throw Error(where, "the checkpoint has " + std::to_string(blocks.size()) + " blocks under " + *prefixes.begin() +
                               ", the model runs " + std::to_string(n));
    return *prefixes.begin();
}

// "<prefix><k>.<rest>" → "<prefix><renumber[k]>.<rest>"; "" for a tensor of a dropped block
// (renumber[k] < 0); names outside the blocks unchanged.
std::string renamed(const std::string& name, const std::string& prefix, const std::vector<int>& renumber) {
    if (name.compare(0, prefix.size(), prefix) != 0) return name;
    size_t end = prefix.size();
    while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
    if (end == prefix.size() || end >= name.size() || name[end] != '.') return name;
    const std::string digits = name.substr(prefix.size(), end - prefix.size());
    const size_t k = digits.size() > 9 ? renumber.size() : std::stoul(digits);
    if (k >= renumber.size())
        throw Error(name, "block " + digits + " is outside the tower's " + std::to_string(renumber.size()) + " blocks");
    return renumber[k] < 0 ? std::string() : prefix + std::to_string(renumber[k]) + name.substr(end);
}

}  // namespace

std::vector<BlockInfluence> block_influence(const Vlm& model, const std::vector<VlmInputs>& calibration, const JobControl& job) {
    if (calibration.empty()) throw Error("calibration", "no calibration batches");
    at::NoGradGuard no_grad;
    int64_t total = 0, finished = 0;
    for (const TowerInfo& t : model.towers()) total += t.num_blocks;
    std::vector<BlockInfluence> out;
    std::vector<std::vector<StageState>> done(calibration.size());
    for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) {
        const TowerInfo& tower = model.towers()[t];
        std::vector<StageState> states;
        std::vector<at::Tensor> masks;
        for (size_t b = 0; b < calibration.size(); ++b) {
            states.push_back(model.embed(t, calibration[b], done[b]));
            masks.push_back(token_mask(tower, calibration[b], states.back()));
        }
        for (int i = 0; i < tower.num_blocks; ++i) {
            const std::string stage = tower.name + " block " + std::to_string(i);
            double score = 0;
            for (size_t b = 0; b < states.size(); ++b) {
                const at::Tensor before = states[b].hidden;  // blocks assign a new hidden tensor
                model.block(t, i, states[b]);
                if (before.defined()) score += influence(before, states[b].hidden, masks[b]);
                job.check(stage);
            }
            out.push_back({t, i, score});
            job.report("block influence", ++finished, total, stage);
        }
        for (size_t b = 0; b < states.size(); ++b) {
            model.finish(t, states[b]);
            done[b].push_back(std::move(states[b]));
        }
    }
    return out;
}

std::map<int, int> depth_counts(const Vlm& model, const PruneOptions& plan) {
    if (plan.method != "depth") throw Error("plan method", "\"" + plan.method + "\" is not depth");
    check_whole_tower_plan(plan);
    std::map<int, int> counts;
    for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) {
        const TowerInfo& tower = model.towers()[t];
        const double ratio = modality_sparsity(plan, tower.modality);
        check_sparsity(ratio, "plan " + std::string(modality_name(tower.modality)) + " ratio");
        const int count = static_cast<int>(ratio * tower.num_blocks);
        if (count > 0) counts[t] = count;
    }
    if (counts.empty()) throw Error("plan sparsity", "the ratios are too small to drop a whole block of any tower");
    return counts;
}

std::vector<int> least_influential(const std::vector<BlockInfluence>& bi, int tower, int count) {
    std::vector<BlockInfluence> mine;
    for (const BlockInfluence& b : bi)
        if (b.tower == tower) mine.push_back(b);
    const std::string where = "tower " + std::to_string(tower);
    if (mine.empty()) throw Error(where, "no block influence scores");
    if (count < 0 || count >= static_cast<int>(mine.size()))
        throw Error(where, "cannot drop " + std::to_string(count) + " of its " + std::to_string(mine.size()) +
                               " blocks (at least one must stay)");
    std::stable_sort(mine.begin(), mine.end(), [](const BlockInfluence& a, const BlockInfluence& b) {
        return a.score < b.score || (a.score == b.score && a.block < b.block);
    });
    std::vector<int> picked;
    for (int i = 0; i < count; ++i) picked.push_back(mine[i].block);
    std::sort(picked.begin(), picked.end());
    return picked;
}

void write_depth_pruned_checkpoint(const Vlm& model, const BlockDrops& drops, const std::string& dir, const nlohmann::json& plan) {
    const Checkpoint& ckpt = model.weights().checkpoint();
    const nlohmann::json& source_config = ckpt.config();
    nlohmann::json config = source_config;
    const fs::path src(ckpt.dir());
    nlohmann::json history = nlohmann::json::array();
    if (fs::exists(src / "depth.json")) history = read_json_file((src / "depth.json").string());
    if (!history.is_array()) history = nlohmann::json::array();
    std::vector<std::pair<std::string, std::vector<int>>> renumbering;  // block prefix, new index per block (-1: dropped)
    if (drops.empty()) throw Error("depth pruning", "no tower to drop blocks from");
    for (const auto& [tower, drop] : drops) {
        check_tower(model, tower);
        const TowerInfo& info = model.towers()[tower];
        const std::string where = info.name + " tower";
        if (info.modality == Modality::Vision && source_config.contains("vision_feature_layer"))
            throw Error(where, "dropping vision blocks is not supported here: vision_feature_layer indexes its hidden states");
        const int n = info.num_blocks;
        std::vector<int> renumber(n, 0);
        for (int d : drop) {
            if (d < 0 || d >= n) throw Error(info.name + " block " + std::to_string(d), "outside the tower's " + std::to_string(n) + " blocks");
            if (renumber[d] < 0) throw Error(info.name + " block " + std::to_string(d), "listed twice");
            renumber[d] = -1;
        }
        const int keep = n - static_cast<int>(drop.size());
        if (keep < 1) throw Error(where, "dropping all " + std::to_string(n) + " blocks leaves none; keep at least one");
        for (int i = 0, next = 0; i < n; ++i)
            if (renumber[i] >= 0) renumber[i] = next++;
        const std::string prefix = block_prefix(model, tower);
        renumbering.emplace_back(prefix, renumber);

        const TowerCapabilities* caps = model.capabilities().tower(info.modality);
        if (!caps) throw Error(where, "has no config object its block count could be rewritten in");
        const std::string key = caps->config_key;
        nlohmann::json& sub = tower_config(config, key, ckpt.config_path());
        if (sub.contains("num_hidden_layers") && sub["num_hidden_layers"] != nlohmann::json(n))
            throw Error(ckpt.config_path(), key + ".num_hidden_layers is " + sub["num_hidden_layers"].dump() + " but the " +
                                                where + " has " + std::to_string(n) + " blocks");
        sub["num_hidden_layers"] = keep;
        std::vector<int> dropped = drop;
        std::sort(dropped.begin(), dropped.end());
        history.push_back({{"tower", info.name}, {"modality", modality_name(info.modality)}, {"prefix", prefix},
                           {"blocks_before", n}, {"blocks_after", keep}, {"dropped", dropped}});
    }
    auto rename = [&](const std::string& name) {
        std::string to = name;
        for (const auto& [prefix, renumber] : renumbering)
            if (!to.empty()) to = renamed(to, prefix, renumber);
        return to;
    };

    NamedTensors tensors;
    for (const std::string& name : ckpt.names()) {
        const std::string to = rename(name);
        if (!to.empty()) tensors.emplace_back(to, tensor_view(ckpt, name));
    }
    AtomicDir out(dir);
    // result.json / plan.json of a sparse pruning name tensors by their old block numbers.
    copy_checkpoint_side_files(src.string(), out.path(), {"config.json", "depth.json", "result.json", "plan.json"});
    write_file_atomic(out.path() + "/config.json", config.dump(2) + "\n");
    save_safetensors(out.path() + "/model.safetensors", tensors, {{"format", "pt"}});
    if (fs::exists(src / "masks.safetensors")) {  // a sparse-pruned source: its masks follow their blocks
        std::map<std::string, std::string> meta;
        NamedTensors masks;
        for (auto& [name, mask] : load_safetensors((src / "masks.safetensors").string(), &meta)) {
            const std::string to = rename(name);
            if (!to.empty()) masks.emplace_back(to, mask);
        }
        save_safetensors(out.path() + "/masks.safetensors", masks, meta);
    }
    write_file_atomic(out.path() + "/depth.json", history.dump(2) + "\n");
    if (!plan.is_null()) write_file_atomic(out.path() + "/plan.json", plan.dump(2) + "\n");
    out.commit();
}

PruneMethod depth_method() {
    PruneMethod m;
    m.id = "depth";
    m.display = "Depth (ShortGPT)";
    m.description = "the blocks of least Block Influence dropped";
    m.remove = [](const StructuralRun& run) {
        const std::map<int, int> counts = depth_counts(run.model, run.options);
        const auto bi = block_influence(run.model, run.calibration, run.job);
        BlockDrops drops;
        StructuralOutcome out;
        nlohmann::json dropped = nlohmann::json::object();
        for (const auto& [tower, count] : counts) {
            drops[tower] = least_influential(bi, tower, count);
            const TowerInfo& info = run.model.towers()[tower];
            out.text += "block influence of the " + info.name + " tower (" + std::to_string(run.calibration.size()) +
                        " calibration batches):\n";
            for (const BlockInfluence& b : bi) {
                if (b.tower != tower) continue;
                char line[96];
                const bool gone = std::count(drops[tower].begin(), drops[tower].end(), b.block) > 0;
                std::snprintf(line, sizeof line, "  block %3d  %14.6f%s\n", b.block, b.score, gone ? "  dropped" : "");
                out.text += line;
            }
            std::string list;
            for (int b : drops[tower]) list += (list.empty() ? "" : ", ") + std::to_string(b);
            out.text += "depth: dropped " + info.name + " tower blocks " + list + " (" + std::to_string(info.num_blocks) +
                        " -> " + std::to_string(info.num_blocks - count) + " blocks)\n";
            dropped[info.name] = drops[tower];
        }
        write_depth_pruned_checkpoint(run.model, drops, run.out_dir, run.plan);
        out.result = {{"method", "depth"}, {"dropped", dropped}};
        return out;
    };
    return m;
}

}  // namespace ps
