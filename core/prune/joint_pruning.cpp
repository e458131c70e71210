#include "core/prune/joint_pruning.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/io/json_fields.h"
#include "core/prune/calibration_loss.h"
#include "core/prune/pruned_checkpoint.h"
#include "core/token/flops.h"
#include "core/token/token_method.h"

namespace ps {
namespace {

const std::vector<std::string> kModes = {"vision-params", "language-params", "vision-tokens", "language-tokens"};
// One stage takes at most this share of what a mode can still remove, so that no mode is spent
// (all but one token, head or channel gone) in a single step.
constexpr double kMaxShare = 0.5;
// A token mode's step may pass the FLOPs goal by at most this fraction of the dense FLOPs.
constexpr double kOvershoot = 0.01;

// The prunable structure of one block: its attention heads (q, k, v rows and o columns) and MLP
// channels (rows of fc1 or gate/up, columns of fc2 or down), with what has been removed so far and
// the token-weighted input norms of the o-projection and the MLP output.
struct BlockParts {
    int tower = 0, block = 0;
    std::string q, k, v, o, mlp_out;
    std::vector<std::string> mlp_in;
    int64_t hidden = 0, heads = 0, head_dim = 0;
    bool gqa = false;
    std::vector<char> head_removed, channel_removed;
    at::Tensor o_norm2, mlp_norm2;

    bool has_heads() const { return !q.empty() && !k.empty() && !v.empty() && !o.empty(); }
    bool has_channels() const { return !mlp_in.empty() && !mlp_out.empty(); }
};

struct Pick {
    size_t part;
    bool head;
    int64_t index;
};

class JointPruner {
public:
    JointPruner(Vlm& model, const PruneOptions& plan, const std::vector<VlmInputs>& batches)
        : model_(model), plan_(plan), batches_(batches), rng_(plan.seed) {
        if (batches.empty()) throw Error("calibration", "joint pruning needs calibration data");
        vision_ = tower_index(model, Modality::Vision);
        language_ = tower_index(model, Modality::Language);
        image_tokens_in_language_ = model.capabilities().image_tokens_in_language;
        find_parts();
        measure_sample();
        tokens_.metric = TokenMetric::Cim;
        if (plan.joint.token_method != "comp") {
            const TokenMethod* m = find_token_method(plan.joint.token_method);
            if (!m) throw Error("joint.token_method", "\"" + plan.joint.token_method + "\" is not comp or a token method");
            if (!image_tokens_in_language_ && m->stage != TokenStage::Vision)
                throw Error("joint.token_method", m->name + " drops image tokens in or before a language model, which " +
                                                      model.map().family_display + " has not");
            token_method_ = m->name;
            vision_budget_ = m->stage == TokenStage::Vision && !image_tokens_in_language_;
        }
        if (vision_ >= 0 && plan.joint.vision_after >= model.towers()[vision_].num_blocks)
            throw Error("joint.vision_after", std::to_string(plan.joint.vision_after) + " is not a block of the vision tower");
        if (language_ >= 0 && plan.joint.language_after >= model.towers()[language_].num_blocks)
            throw Error("joint.language_after",
                        std::to_string(plan.joint.language_after) + " is not a block of the language tower");
        kept_v_ = candidates_v_;
        kept_l_ = candidates_l_;
    }

    JointResult run(const JobControl& job) {
        const auto start = std::chrono::steady_clock::now();
        at::NoGradGuard no_grad;
        const TokenHook old_hook = model_.token_hook();
        try {
            JointResult r = schedule(job);
            r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            return r;
        } catch (...) {
            model_.weights().set_linear_tap({});
            for (const auto& [name, before] : originals_) restore(name, before);
            model_.set_token_hook(old_hook);
            throw;
        }
    }

private:
    using Undo = std::vector<std::pair<std::string, at::Tensor>>;  // name -> override before (undefined: none)

    void find_parts() {
        for (int t : {vision_, language_}) {
            if (t < 0) continue;
            const Modality m = model_.towers()[t].modality;
            for (int i = 0; i < model_.towers()[t].num_blocks; ++i) {
                BlockParts p;
                p.tower = t;
                p.block = i;
                for (const LinearLayer& l : model_.map().linears) {
                    if (l.modality != m || l.block != i) continue;
                    if (l.role == "q") p.q = l.name, p.hidden = l.in_features;
                    else if (l.role == "k") p.k = l.name;
                    else if (l.role == "v") p.v = l.name;
                    else if (l.role == "o") p.o = l.name;
                    else if (widens_mlp(l.role)) p.mlp_in.push_back(l.name);
                    else if (narrows_mlp(l.role)) p.mlp_out = l.name;
                }
                if (p.hidden == 0 && !p.mlp_out.empty()) p.hidden = model_.weights().rows(p.mlp_out + ".weight");
                if (p.has_heads()) p.gqa = model_.weights().rows(p.k + ".weight") != model_.weights().rows(p.q + ".weight");
                if (p.has_channels()) p.channel_removed.assign(model_.weights().rows(p.mlp_in[0] + ".weight"), 0);
                parts_.push_back(std::move(p));
            }
        }
    }

    // Token counts of the sample the FLOPs are counted for: the first calibration batch's.
    void measure_sample() {
        const SampleTokens n = sample_tokens(model_, batches_.front());
        vision_tokens_ = n.vision;
        language_tokens_ = n.language;
        image_tokens_ = n.image;
        const int64_t cls = model_.capabilities().vision_cls ? 1 : 0;
        candidates_v_ = vision_ >= 0 && !image_tokens_in_language_ ? std::max<int64_t>(vision_tokens_ - cls, 0) : 0;
        candidates_l_ = language_ < 0 ? 0 : image_tokens_in_language_ ? image_tokens_ : std::max<int64_t>(language_tokens_ - 1, 0);
    }

    bool mode_allowed(const std::string& m) const {
        if (std::find(plan_.joint.modes.begin(), plan_.joint.modes.end(), m) == plan_.joint.modes.end()) return false;
        if (m == "vision-params") return vision_ >= 0;
        if (m == "language-params") return language_ >= 0;
        if (!token_method_.empty() && vision_budget_ != (m == "vision-tokens")) return false;  // the method's keep is the other mode's
        if (m == "vision-tokens") return candidates_v_ > 1;
        return candidates_l_ > 1;
    }

    void install_tokens() {
        if (!token_method_.empty()) {  // a token method at the keep ratio of the mode that drives it
            TokenOptions t;
            t.method = token_method_;
            t.keep = vision_budget_ ? static_cast<double>(kept_v_) / static_cast<double>(std::max<int64_t>(candidates_v_, 1))
                                    : static_cast<double>(kept_l_) / static_cast<double>(std::max<int64_t>(candidates_l_, 1));
            tokens_ = TokenPruning::from_plan(t, model_);
            install_token_pruning(model_, tokens_);
            return;
        }
        tokens_.vision.clear();
        if (candidates_v_ > 0 && kept_v_ < candidates_v_)
            tokens_.vision[plan_.joint.vision_after] = static_cast<double>(kept_v_) / static_cast<double>(candidates_v_);
        tokens_.language.clear();
        if (language_ >= 0 && candidates_l_ > 0)
            tokens_.language[plan_.joint.language_after] = static_cast<double>(kept_l_) / static_cast<double>(candidates_l_);
        install_token_pruning(model_, tokens_);
    }

    std::vector<std::vector<int64_t>> counts() const {
        return token_counts(model_, tokens_, vision_tokens_, language_tokens_, image_tokens_);
    }
    double flops() const { return block_flops(costs_, counts()).total(); }

    double loss(const JobControl& job) const {
        double sum = 0;
        for (const VlmInputs& b : batches_) {
            sum += calibration_loss(model_, b).item<double>();
            job.check("joint pruning");
        }
        return sum / static_cast<double>(batches_.size());
    }

    // --- parameters ---------------------------------------------------------------------------

    // CIP inputs of every block of `tower`: squared norms of the o-projection and MLP-output inputs,
    // each token weighted by its CIT importance (the MLP by the next block's, where it has the same
    // tokens), summed over the calibration batches.
    void score_tower(int tower, const JobControl& job) {
        std::set<std::string> tapped;  // the o-projections and MLP outputs of the tower
        for (BlockParts& p : parts_)
            if (p.tower == tower) {
                p.o_norm2 = p.mlp_norm2 = at::Tensor();
                if (!p.o.empty()) tapped.insert(p.o);
                if (!p.mlp_out.empty()) tapped.insert(p.mlp_out);
            }
        const int blocks = model_.towers()[tower].num_blocks;
        const bool has_cls = tower == vision_ ? model_.capabilities().vision_cls : !(image_tokens_in_language_ && tower == language_);
        const TokenHook& hook = model_.token_hook();
        std::map<std::string, at::Tensor> seen;
        model_.weights().set_linear_tap([&](const std::string& name, const at::Tensor& x) {
            if (tapped.count(name)) seen[name] = x.detach();
        });
        for (const VlmInputs& b : batches_) {
            std::vector<StageState> done;
            for (int t = 0; t < tower; ++t) done.push_back(model_.run_tower(t, b, done));
            StageState s = model_.embed(tower, b, done);
            std::vector<at::Tensor> cit(blocks);
            std::vector<size_t> part_of(blocks, parts_.size());
            for (size_t p = 0; p < parts_.size(); ++p)
                if (parts_[p].tower == tower) part_of[parts_[p].block] = p;
            for (int i = 0; i < blocks; ++i) {
                seen.clear();
                at::Tensor probs;
                model_.block(tower, i, s, &probs);
                BlockParts* part = part_of[i] < parts_.size() ? &parts_[part_of[i]] : nullptr;
                at::Tensor mask;
                if (part && part->has_heads()) {
                    if (part->heads == 0) {
                        part->heads = probs.size(1);
                        part->head_dim = model_.weights().rows(part->q + ".weight") / part->heads;
                        part->head_removed.assign(part->heads, 0);
                    }
                    mask = live_heads(model_.weights().get(part->o + ".weight"), part->heads);
                }
                cit[i] = collaborative_token_importance(probs, mask);
                if (part) {
                    if (seen.count(part->o)) accumulate(part->o_norm2, seen[part->o], cit[i], has_cls);
                    if (seen.count(part->mlp_out)) pending_mlp_[i] = seen[part->mlp_out];
                }
                if (i > 0 && pending_mlp_.count(i - 1)) flush_mlp(part_of[i - 1], cit[i - 1], cit[i], i - 1, has_cls);
                if (hook.apply && hook.after.count({tower, i})) hook.apply(tower, i, s, probs);
            }
            if (pending_mlp_.count(blocks - 1)) flush_mlp(part_of[blocks - 1], cit[blocks - 1], {}, blocks - 1, has_cls);
            job.check("joint pruning");
        }
        model_.weights().set_linear_tap({});
    }

    void flush_mlp(size_t part, const at::Tensor& own, const at::Tensor& next, int block, bool has_cls) {
        const at::Tensor x = pending_mlp_[block];
        pending_mlp_.erase(block);
        if (part >= parts_.size()) return;
        const at::Tensor& w = next.defined() && next.size(1) == x.size(1) ? next : own;
        accumulate(parts_[part].mlp_norm2, x, w, has_cls);
    }

    static void accumulate(at::Tensor& sum, const at::Tensor& x, const at::Tensor& importance, bool has_cls) {
        const at::Tensor n2 = token_weighted_column_norms(x, importance, has_cls).pow(2).cpu();
        sum = sum.defined() ? sum + n2 : n2;
    }

    // The live groups of `tower` with the lowest importance per FLOP saved, until they save `target`
    // FLOPs (at most kMaxShare of what the tower can still lose); every block keeps at least one
    // head and one channel.
    std::vector<Pick> propose_params(int tower, double target) const {
        const auto n = counts();
        struct Candidate {
            double key, saving;
            Pick pick;
        };
        std::vector<Candidate> all;
        for (size_t p = 0; p < parts_.size(); ++p) {
            const BlockParts& b = parts_[p];
            if (b.tower != tower) continue;
            const double tokens = static_cast<double>(n[tower][b.block]), d = static_cast<double>(b.hidden);
            auto add = [&](const at::Tensor& scores, const std::vector<char>& removed, bool head, double saving) {
                std::vector<int64_t> live;
                for (int64_t g = 0; g < static_cast<int64_t>(removed.size()); ++g)
                    if (!removed[g]) live.push_back(g);
                if (live.size() <= 1 || !scores.defined()) return;
                const at::Tensor st = scores.to(at::kDouble).contiguous();
                const double* sc = st.data_ptr<double>();
                double mean = 0;
                for (int64_t g : live) mean += sc[g];
                mean /= static_cast<double>(live.size());
                for (int64_t g : live) all.push_back({(mean > 0 ? sc[g] / mean : 0.0) / saving, saving, {p, head, g}});
            };
            if (b.has_heads() && b.o_norm2.defined()) {
                const at::Tensor wo = model_.weights().get(b.o + ".weight").to(at::kCPU, at::kFloat).abs().mean(0);
                const at::Tensor per_col = b.o_norm2.sqrt() * wo;
                const double hd = static_cast<double>(b.head_dim);
                add(per_col.view({b.heads, b.head_dim}).sum(1), b.head_removed, true,
                    2.0 * tokens * hd * d * (b.gqa ? 2.0 : 4.0) + 4.0 * tokens * tokens * hd);
            }
            if (b.has_channels() && b.mlp_norm2.defined()) {
                const at::Tensor wout = model_.weights().get(b.mlp_out + ".weight").to(at::kCPU, at::kFloat).abs().mean(0);
                add(b.mlp_norm2.sqrt() * wout, b.channel_removed, false,
                    2.0 * tokens * d * static_cast<double>(b.mlp_in.size() + 1));
            }
        }
        std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) { return a.key < b.key; });
        std::map<std::pair<size_t, bool>, int64_t> left;  // live groups per (part, kind)
        std::map<std::pair<size_t, bool>, double> smallest;
        for (const Candidate& c : all) {
            ++left[{c.pick.part, c.pick.head}];
            auto [it, fresh] = smallest.insert({{c.pick.part, c.pick.head}, c.saving});
            if (!fresh) it->second = std::min(it->second, c.saving);
        }
        double capacity = 0;  // everything but one group of each kind per block
        for (const Candidate& c : all) capacity += c.saving;
        for (const auto& [key, s] : smallest) capacity -= s;
        target = std::min(target, kMaxShare * capacity);
        std::vector<Pick> out;
        double saved = 0;
        for (const Candidate& c : all) {
            if (saved >= target) break;
            int64_t& l = left[{c.pick.part, c.pick.head}];
            if (l <= 1) continue;
            --l;
            saved += c.saving;
            out.push_back(c.pick);
        }
        return out;
    }

    void zero(const std::string& name, int64_t dim, const at::Tensor& index, Undo& undo) {
        WeightStore& w = model_.weights();
        if (!w.has(name)) return;
        if (!originals_.count(name)) originals_[name] = w.overridden(name) ? w.get(name) : at::Tensor();
        undo.push_back({name, w.overridden(name) ? w.get(name) : at::Tensor()});
        at::Tensor t = w.get(name).clone();
        t.index_fill_(dim, index.to(t.device()), 0);
        w.set(name, t);
    }

    void restore(const std::string& name, const at::Tensor& before) {
        if (before.defined()) model_.weights().set(name, before);
        else model_.weights().unset(name);
    }

    void apply_params(const std::vector<Pick>& picks, Undo& undo) {
        for (const Pick& pk : picks) {
            BlockParts& b = parts_[pk.part];
            if (pk.head) {
                const at::Tensor rows = at::arange(pk.index * b.head_dim, (pk.index + 1) * b.head_dim, at::kLong);
                std::vector<std::string> in = {b.q};
                if (!b.gqa) in.insert(in.end(), {b.k, b.v});
                for (const auto& l : in) {
                    zero(l + ".weight", 0, rows, undo);
                    zero(l + ".bias", 0, rows, undo);
                }
                zero(b.o + ".weight", 1, rows, undo);
                b.head_removed[pk.index] = 1;
            } else {
                const at::Tensor row = at::tensor({pk.index}, at::kLong);
                for (const auto& l : b.mlp_in) {
                    zero(l + ".weight", 0, row, undo);
                    zero(l + ".bias", 0, row, undo);
                }
                zero(b.mlp_out + ".weight", 1, row, undo);
                b.channel_removed[pk.index] = 1;
            }
        }
        costs_ = block_costs(model_);
    }

    void undo_params(const std::vector<Pick>& picks, const Undo& undo) {
        for (auto it = undo.rbegin(); it != undo.rend(); ++it) restore(it->first, it->second);
        for (const Pick& pk : picks) (pk.head ? parts_[pk.part].head_removed : parts_[pk.part].channel_removed)[pk.index] = 0;
        costs_ = block_costs(model_);
    }

    // --- tokens -------------------------------------------------------------------------------

    // The smallest reduction of a kept-token count that removes `target` FLOPs, or kMaxShare of what
    // dropping all but one token would, without removing more than `limit`; the count itself when
    // no reduction fits (one token is worth more than `limit`, or one token is left).
    int64_t propose_tokens(int64_t& kept, double target, double limit) {
        const int64_t before = kept;
        const double f0 = flops();
        kept = 1;
        install_tokens();
        target = std::min(target, kMaxShare * (f0 - flops()));
        int64_t k = before;
        while (k > 1) {
            kept = k - 1;
            install_tokens();
            const double removed = f0 - flops();
            if (removed > limit) break;
            k = kept;
            if (removed >= target) break;
        }
        kept = before;
        install_tokens();
        return k;
    }

    // --- the scheduler ------------------------------------------------------------------------

    JointResult schedule(const JobControl& job) {
        JointResult r;
        r.target_reduction = plan_.joint.flops_reduction;
        r.vision_tokens = vision_tokens_;
        r.language_tokens = language_tokens_;
        r.image_tokens = image_tokens_;
        install_tokens();
        costs_ = block_costs(model_);
        r.dense_flops = flops();
        r.dense_loss = loss(job);
        const double goal = (1.0 - plan_.joint.flops_reduction) * r.dense_flops;
        const int expected = static_cast<int>(std::ceil(plan_.joint.flops_reduction / plan_.joint.step - 1e-9));
        double current_loss = r.dense_loss;
        std::map<std::string, double> history;
        std::map<std::string, int> waited;  // stages since the mode last ran
        std::set<std::string> exhausted;
        for (const auto& m : kModes) waited[m] = 1;
        std::uniform_real_distribution<double> coin(0.0, 1.0);
        for (int stage = 1;; ++stage) {
            const double now = flops();
            if (now <= goal * (1 + 1e-9)) break;
            const double target = std::min(plan_.joint.step * r.dense_flops, now - goal);
            const double limit = now - goal + kOvershoot * r.dense_flops;  // token steps come in whole tokens
            JointStage st;
            st.stage = stage;
            std::map<std::string, double> loss_of;
            for (const auto& m : kModes) {
                if (!mode_allowed(m) || exhausted.count(m)) continue;
                job.report("joint pruning", stage - 1, expected, "stage " + std::to_string(stage) + ": trying " + m);
                double removed = 0, l = 0;
                if (m == "vision-params" || m == "language-params") {
                    const int tower = m == "vision-params" ? vision_ : language_;
                    score_tower(tower, job);
                    const std::vector<Pick> picks = propose_params(tower, target);
                    if (picks.empty()) {
                        exhausted.insert(m);
                        continue;
                    }
                    Undo undo;
                    apply_params(picks, undo);
                    removed = now - flops();
                    l = loss(job);
                    undo_params(picks, undo);
                } else {
                    int64_t& kept = m == "vision-tokens" ? kept_v_ : kept_l_;
                    const int64_t k = propose_tokens(kept, target, limit);
                    if (k == kept) {  // one token left, or one token would overshoot the goal now
                        if (kept <= 1) exhausted.insert(m);
                        continue;
                    }
                    const int64_t before = kept;
                    kept = k;
                    install_tokens();
                    removed = now - flops();
                    l = loss(job);
                    kept = before;
                    install_tokens();
                }
                if (removed <= 0) {
                    exhausted.insert(m);
                    continue;
                }
                st.measured[m] = (l - current_loss) / (removed / r.dense_flops);
                const double lambda = std::max(plan_.joint.lambda0 - plan_.joint.lambda0 / static_cast<double>(plan_.joint.i_max) *
                                                                         (waited[m] - 1),
                                               0.0);
                st.blended[m] = history.count(m) ? lambda * history[m] + (1 - lambda) * st.measured[m] : st.measured[m];
                loss_of[m] = l;
            }
            if (st.blended.empty()) {
                r.note = "no mode can remove more without passing the target by over 1% (whole tokens) or leaving a "
                         "block without heads, channels or tokens";
                break;
            }
            std::string chosen = std::min_element(st.blended.begin(), st.blended.end(), [](const auto& a, const auto& b) {
                                     return a.second < b.second;
                                 })->first;
            if (st.blended.size() > 1 && coin(rng_) < plan_.joint.rho) {
                std::vector<std::string> names;
                std::vector<double> weights;
                double top = -1e300;
                for (const auto& [m, c] : st.blended) top = std::max(top, waited[m] / plan_.joint.tau);
                for (const auto& [m, c] : st.blended) {
                    names.push_back(m);
                    weights.push_back(std::exp(waited[m] / plan_.joint.tau - top));
                }
                chosen = names[std::discrete_distribution<size_t>(weights.begin(), weights.end())(rng_)];
                st.explored = true;
            }
            if (chosen == "vision-params" || chosen == "language-params") {  // scores from this stage's trial
                const int tower = chosen == "vision-params" ? vision_ : language_;
                Undo undo;
                apply_params(propose_params(tower, target), undo);
            } else {
                int64_t& kept = chosen == "vision-tokens" ? kept_v_ : kept_l_;
                kept = propose_tokens(kept, target, limit);
                install_tokens();
            }
            for (const auto& [m, c] : st.blended) history[m] = c;
            for (auto& [m, w] : waited) w = m == chosen ? 1 : w + 1;
            current_loss = loss_of[chosen];
            st.mode = chosen;
            st.loss = current_loss;
            st.flops_fraction = flops() / r.dense_flops;
            r.stages.push_back(st);
        }
        r.flops = flops();
        r.loss = current_loss;
        r.tokens = tokens_;
        for (const BlockParts& b : parts_) {
            JointBlockRemoval rem;
            rem.tower = b.tower;
            rem.block = b.block;
            for (size_t g = 0; g < b.head_removed.size(); ++g)
                if (b.head_removed[g]) rem.heads.push_back(static_cast<int64_t>(g));
            for (size_t g = 0; g < b.channel_removed.size(); ++g)
                if (b.channel_removed[g]) rem.channels.push_back(static_cast<int64_t>(g));
            if (!rem.heads.empty() || !rem.channels.empty()) r.removed.push_back(std::move(rem));
        }
        job.report("joint pruning", expected, expected);
        return r;
    }

    Vlm& model_;
    const PruneOptions& plan_;
    const std::vector<VlmInputs>& batches_;
    std::mt19937_64 rng_;
    int vision_ = -1, language_ = -1;
    bool image_tokens_in_language_ = false;
    std::vector<BlockParts> parts_;
    std::map<int, at::Tensor> pending_mlp_;
    int64_t vision_tokens_ = 0, language_tokens_ = 0, image_tokens_ = 0;
    int64_t candidates_v_ = 0, candidates_l_ = 0, kept_v_ = 0, kept_l_ = 0;
    TokenPruning tokens_;
    std::string token_method_;   // a registered token method, or "" for CoMP's own CIT
    bool vision_budget_ = false;  // the method's keep ratio is the vision-tokens mode's (else the language-tokens mode's)
    std::vector<BlockCost> costs_;
    std::map<std::string, at::Tensor> originals_;
};

}  // namespace

nlohmann::json JointResult::to_json() const {
    nlohmann::json stages_json = nlohmann::json::array();
    for (const JointStage& s : stages)
        stages_json.push_back({{"stage", s.stage}, {"mode", s.mode}, {"explored", s.explored}, {"measured", s.measured},
                               {"blended", s.blended}, {"loss", s.loss}, {"flops_fraction", s.flops_fraction}});
    nlohmann::json removed_json = nlohmann::json::array();
    for (const JointBlockRemoval& b : removed)
        removed_json.push_back({{"tower", b.tower}, {"block", b.block}, {"heads", b.heads}, {"channels", b.channels}});
    return {{"method", "comp"},
            {"target_reduction", target_reduction},
            {"reduction", reduction()},
            {"dense_flops", dense_flops},
            {"flops", flops},
            {"dense_loss", dense_loss},
            {"loss", loss},
            {"sample", {{"vision_tokens", vision_tokens}, {"language_tokens", language_tokens}, {"image_tokens", image_tokens}}},
            {"tokens", tokens.to_plan().to_json()},
            {"stages", stages_json},
            {"removed", removed_json},
            {"note", note},
            {"seconds", seconds}};
}

std::string JointResult::to_text() const {
    std::ostringstream o;
    char line[256];
    std::snprintf(line, sizeof line, "joint pruning: block FLOPs %.4g -> %.4g (%.1f%% removed, target %.1f%%), loss %.4f -> %.4f\n",
                  dense_flops, flops, 100 * reduction(), 100 * target_reduction, dense_loss, loss);
    o << line;
    std::snprintf(line, sizeof line, "  FLOPs of one sample: %lld vision tokens, %lld language tokens (%lld image tokens)\n",
                  static_cast<long long>(vision_tokens), static_cast<long long>(language_tokens),
                  static_cast<long long>(image_tokens));
    o << line;
    for (const JointStage& s : stages) {
        std::snprintf(line, sizeof line, "  stage %2d  %-16s%s  loss %.4f  FLOPs %.1f%%\n", s.stage, s.mode.c_str(),
                      s.explored ? " (explored)" : "           ", s.loss, 100 * s.flops_fraction);
        o << line;
    }
    for (const auto& [block, keep] : tokens.vision) {
        std::snprintf(line, sizeof line, "  vision tokens after block %d: keep %.3f\n", block, keep);
        o << line;
    }
    for (const auto& [block, keep] : tokens.language) {
        std::snprintf(line, sizeof line, "  language tokens after block %d: keep %.3f\n", block, keep);
        o << line;
    }
    if (tokens.select != TokenSelect::None) {
        std::snprintf(line, sizeof line, "  image tokens before the language model (%s): keep %.3f\n", tokens.source.method.c_str(),
                      tokens.select_keep);
        o << line;
    }
    size_t heads = 0, channels = 0;
    for (const auto& b : removed) heads += b.heads.size(), channels += b.channels.size();
    o << "  removed " << heads << " attention heads and " << channels << " MLP channels\n";
    if (!note.empty()) o << "  note: " << note << "\n";
    return o.str();
}

JointResult prune_joint(Vlm& model, const PruneOptions& plan, const std::vector<VlmInputs>& calibration, const JobControl& job) {
    if (plan.method != "comp") throw Error("plan", "joint pruning runs Plans of method comp, not " + plan.method);
    JointPruner pruner(model, plan, calibration);
    return pruner.run(job);
}

void write_joint_pruned_checkpoint(const Vlm& model, const nlohmann::json& plan, const JointResult& result, const std::string& dir) {
    nlohmann::json with_tokens = plan;
    with_tokens["tokens"] = result.tokens.to_plan().to_json();
    const WeightStore& w = model.weights();
    std::vector<std::string> linears;
    for (const LinearLayer& l : model.map().linears)
        if (w.overridden(l.name + ".weight")) linears.push_back(l.name);
    PrunedCheckpointWriter writer(w.checkpoint(), with_tokens, dir);
    writer.begin(linears);
    for (const LinearLayer& l : model.map().linears) {
        if (w.overridden(l.name + ".weight")) {
            const at::Tensor weight = w.get(l.name + ".weight");
            writer.add(l.name, weight, weight.eq(0));
        }
        if (l.has_bias && w.overridden(l.name + ".bias")) writer.replace(l.name + ".bias", w.get(l.name + ".bias"));
    }
    writer.commit_json(result.to_json());
}

namespace {
std::vector<std::string> token_mode_choices() {
    std::vector<std::string> out{"comp"};
    for (const TokenMethod& m : token_methods()) out.push_back(m.name);
    return out;
}
}  // namespace

PruneMethod comp_method() {
    const JointOptions d;
    PruneMethod m;
    m.id = "comp";
    m.display = "Joint (CoMP-style)";
    m.description = "heads, MLP channels and tokens pruned together to a FLOPs target";
    m.section = "joint";
    m.options = {
        MethodOption::number("flops_reduction", d.flops_reduction, 0.0, 1.0, "fraction of the block FLOPs to remove", true, true),
        MethodOption::number("step", d.step, 0.0, 1.0, "fraction of the dense FLOPs one stage removes (at most flops_reduction)",
                             true, false),
        MethodOption::number("rho", d.rho, 0.0, 1.0, "probability of exploring a mode instead of the cheapest"),
        MethodOption::number("tau", d.tau, 0.0, std::nullopt, "softmax temperature of the exploration draw", true),
        MethodOption::number("lambda0", d.lambda0, 0.0, 1.0, "weight of a mode's earlier cost", false, true),
        MethodOption::integer("i_max", d.i_max, 1, "stages after which a mode's earlier cost is forgotten"),
        MethodOption::integer("vision_after", d.vision_after, 0, "vision block after which vision tokens are dropped"),
        MethodOption::integer("language_after", d.language_after, 0, "language block after which language tokens are dropped"),
        MethodOption::text("token_method", d.token_method, token_mode_choices(),
                           "how the token modes drop tokens: comp (CIT after vision_after / language_after) or a token method"),
        MethodOption::text_list("modes", d.modes, d.modes, "the modes the scheduler may choose from")};
    m.check_options = [](const nlohmann::json& v, const JsonFields& where) {
        if (v.at("step").get<double>() > v.at("flops_reduction").get<double>()) where.fail("must be in (0, flops_reduction]", "step");
    };
    m.remove = [](const StructuralRun& run) {
        const JointResult result = prune_joint(run.model, run.options, run.calibration, run.job);
        write_joint_pruned_checkpoint(run.model, run.plan, result, run.out_dir);
        return StructuralOutcome{result.to_json(), result.to_text()};
    };
    return m;
}

}  // namespace ps
