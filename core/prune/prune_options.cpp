#include "core/prune/prune_options.h"

#include <cmath>

#include "core/io/json_fields.h"
#include "core/prune/pattern.h"
#include "core/prune/registry.h"

namespace ps {
namespace {

const std::set<std::string> kModalities = {"vision", "projector", "language"};

// The typed sections of the built-in structural methods; every other method's section stays JSON.
constexpr char kStructured[] = "structured", kJoint[] = "joint";

}  // namespace

AllocationOptions AllocationOptions::read(const JsonFields& a) {
    a.only({"kind", "vision", "projector", "language", "epsilon", "extra", "owl_m", "owl_lambda", "sensitivity",
            "sensitivity_lambda"});
    AllocationOptions o;
    o.kind = a.text("kind", o.kind);
    if (!find_allocator(o.kind)) a.fail("\"" + o.kind + "\" is not a registered allocation (" + allocator_ids() + ")", "kind");
    o.epsilon = a.number("epsilon", o.epsilon);
    if (!(o.epsilon > 0 && o.epsilon < 1)) a.fail("must be in (0, 1)", "epsilon");
    o.extra = a.number("extra", o.extra);
    if (!(o.extra >= 0 && o.extra < 1)) a.fail("must be in [0, 1)", "extra");
    o.owl_m = a.number("owl_m", o.owl_m);
    if (!(o.owl_m > 0 && std::isfinite(o.owl_m))) a.fail("must be a positive number", "owl_m");
    o.owl_lambda = a.number("owl_lambda", o.owl_lambda);
    if (!(o.owl_lambda >= 0 && o.owl_lambda < 1)) a.fail("must be in [0, 1)", "owl_lambda");
    o.sensitivity = a.text("sensitivity", o.sensitivity);
    if (o.kind == "sensitivity" && o.sensitivity.empty())
        a.fail("names no sensitivity sweep (DIR/sweep.json of prunestudio-cli sweep --sensitivity)", "sensitivity");
    o.sensitivity_lambda = a.number("sensitivity_lambda", o.sensitivity_lambda);
    if (!(o.sensitivity_lambda >= 0 && o.sensitivity_lambda < 1)) a.fail("must be in [0, 1)", "sensitivity_lambda");
    for (const auto& m : kModalities)
        if (a.find(m)) {
            const double s = a.number(m, 0.0);
            a.sparsity(m, s);
            o.modality[m] = s;
        }
    if (o.kind != "modality" && !o.modality.empty()) a.fail("per-modality sparsities need \"kind\": \"modality\"");
    return o;
}

nlohmann::json AllocationOptions::to_json() const {
    nlohmann::json j = {{"kind", kind},       {"epsilon", epsilon},         {"extra", extra},
                        {"owl_m", owl_m},     {"owl_lambda", owl_lambda},   {"sensitivity", sensitivity},
                        {"sensitivity_lambda", sensitivity_lambda}};
    for (const auto& [m, s] : modality) j[m] = s;
    return j;
}

StructuredOptions StructuredOptions::from_section(const nlohmann::json& s) {
    StructuredOptions o;
    o.score = s.at("score").get<std::string>();
    o.heads = s.at("heads").get<bool>();
    o.channels = s.at("channels").get<bool>();
    return o;
}

nlohmann::json StructuredOptions::to_json() const { return {{"score", score}, {"heads", heads}, {"channels", channels}}; }

JointOptions JointOptions::from_section(const nlohmann::json& s) {
    JointOptions o;
    o.flops_reduction = s.at("flops_reduction").get<double>();
    o.step = s.at("step").get<double>();
    o.rho = s.at("rho").get<double>();
    o.tau = s.at("tau").get<double>();
    o.lambda0 = s.at("lambda0").get<double>();
    o.i_max = s.at("i_max").get<int64_t>();
    o.vision_after = s.at("vision_after").get<int>();
    o.language_after = s.at("language_after").get<int>();
    o.token_method = s.value("token_method", o.token_method);
    o.modes = s.at("modes").get<std::vector<std::string>>();
    return o;
}

nlohmann::json JointOptions::to_json() const {
    return {{"flops_reduction", flops_reduction}, {"step", step},
            {"rho", rho},                         {"tau", tau},
            {"lambda0", lambda0},                 {"i_max", i_max},
            {"vision_after", vision_after},       {"language_after", language_after},
            {"token_method", token_method},       {"modes", modes}};
}

bool PruneOptions::removes_structures() const {
    const PruneMethod* m = find_method(method);
    return m && m->remove;
}

nlohmann::json PruneOptions::method_options(const std::string& method_id) const {
    const PruneMethod& m = method_by_id(method_id);
    const std::string& key = m.section_key();
    if (m.options.empty()) return nlohmann::json::object();
    if (key == kStructured) return structured.to_json();
    if (key == kJoint) return joint.to_json();
    const auto it = sections.find(key);
    return it != sections.end() ? it->second : default_method_section(m.options);
}

const std::set<std::string>& PruneOptions::fixed_keys() {
    static const std::set<std::string> keys = {"method", "pattern", "sparsity", "compare", "sequential", "seed",
                                               "allocation", "targets", "ignore", "overrides"};
    return keys;
}

std::set<std::string> PruneOptions::keys() {
    std::set<std::string> out = fixed_keys();
    for (const PruneMethod& m : registered_methods())
        if (!m.options.empty()) out.insert(m.section_key());
    return out;
}

PruneOptions PruneOptions::read(const JsonFields& f) {
    PruneOptions p;
    p.seed = static_cast<uint64_t>(f.integer("seed", 0, 0));
    p.method = f.text("method", p.method);
    const PruneMethod* method = find_method(p.method);
    if (!method) f.fail("\"" + p.method + "\" is not a registered method (" + method_ids() + ")", "method");
    const bool structured = static_cast<bool>(method->remove);
    p.pattern = f.text("pattern", structured ? "structured" : p.pattern);
    if (structured != (p.pattern == "structured")) {
        std::string removers;
        for (const PruneMethod& m : registered_methods())
            if (m.remove) removers += (removers.empty() ? "" : ", ") + m.id;
        f.fail(structured ? "method " + p.method + " removes whole structures; the pattern must be \"structured\""
                          : "\"structured\" is the pattern of methods " + removers,
               "pattern");
    }
    if (!structured) SparsityPattern::parse(p.pattern, f.source().empty() ? "pattern" : f.source() + ": pattern");
    p.sparsity = f.number("sparsity", p.sparsity);
    f.sparsity("sparsity", p.sparsity);
    p.compare = f.text("compare", p.compare);
    if (p.compare != "auto" && p.compare != "row" && p.compare != "matrix") f.fail("\"" + p.compare + "\" is not auto, row or matrix", "compare");
    p.sequential = f.text("sequential", p.sequential);
    if (p.sequential != "block" && p.sequential != "linear") f.fail("\"" + p.sequential + "\" is not block or linear", "sequential");
    if (f.find("allocation")) p.allocation = AllocationOptions::read(f.sub("allocation"));
    p.targets = f.regexes("targets", p.targets);
    p.ignore = f.regexes("ignore", p.ignore);
    if (f.find("overrides")) {
        const JsonFields o = f.sub("overrides");
        for (const auto& [name, v] : f.find("overrides")->items()) {
            if (!v.is_number()) o.fail("must be a number", name);
            o.sparsity(name, v.get<double>());
            p.overrides[name] = v.get<double>();
        }
    }
    for (const PruneMethod& m : registered_methods()) {
        if (m.options.empty()) continue;
        const std::string& key = m.section_key();
        if (!f.find(key)) continue;
        const JsonFields section = f.sub(key);
        const nlohmann::json values = read_method_section(m.options, &section);
        if (m.check_options) m.check_options(values, section);
        if (key == kStructured) p.structured = StructuredOptions::from_section(values);
        else if (key == kJoint) p.joint = JointOptions::from_section(values);
        else p.sections[key] = values;
    }
    return p;
}

void PruneOptions::write(nlohmann::json& j) const {
    j["method"] = method;
    j["pattern"] = pattern;
    j["sparsity"] = sparsity;
    j["compare"] = compare;
    j["sequential"] = sequential;
    j["seed"] = seed;
    j["allocation"] = allocation.to_json();
    j["targets"] = targets;
    j["ignore"] = ignore;
    j["overrides"] = overrides;
    for (const PruneMethod& m : registered_methods())
        if (!m.options.empty()) j[m.section_key()] = method_options(m.id);
}

}  // namespace ps
