#include "ui/project.h"

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/json_util.h"

namespace ps {

namespace {
constexpr char kFormat[] = "prunestudio-project";
}

Project Project::load(const QString& path) {
    const std::string file = path.toStdString();
    const nlohmann::json j = read_json_file(file);
    if (!j.is_object() || j.value("format", std::string()) != kFormat)
        throw Error(file, "is not a PruneStudio project (no \"format\": \"prunestudio-project\")");
    if (j.value("version", 0) != 1) throw Error(file, "version " + j.value("version", nlohmann::json()).dump() + " is not supported (1 is)");
    Project p;
    try {
        p.model = QString::fromStdString(j.value("model", std::string()));
        p.plan = Plan::from_json(j.at("plan"), file + ": plan");
        for (const auto& r : j.value("runs", nlohmann::json::array())) p.runs.append(QString::fromStdString(r.get<std::string>()));
        for (const auto& s : j.value("sweeps", nlohmann::json::array())) p.sweeps.append(QString::fromStdString(s.get<std::string>()));
        for (const auto& c : j.value("calibration_folders", nlohmann::json::array()))
            p.calibrationFolders.append(QString::fromStdString(c.get<std::string>()));
    } catch (const nlohmann::json::exception& e) {
        throw Error(file, std::string("bad project field: ") + e.what());
    }
    return p;
}

void Project::save(const QString& path) const {
    const auto list = [](const QStringList& l) {
        nlohmann::json out = nlohmann::json::array();
        for (const QString& s : l) out.push_back(s.toStdString());
        return out;
    };
    const nlohmann::json j = {{"format", kFormat}, {"version", 1}, {"model", model.toStdString()}, {"plan", plan.to_json()},
                              {"runs", list(runs)}, {"sweeps", list(sweeps)}, {"calibration_folders", list(calibrationFolders)}};
    write_file_atomic(path.toStdString(), j.dump(2) + "\n");
}

}  // namespace ps
