// engine/engine_adapters.cc — the engine's LoRA adapter registry and per-session adapter sets.
#include <cmath>
#include <cstdio>

#include "odlm/engine.h"

namespace odlm {

std::string AdapterNameFromPath(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.rfind('/');
  std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
  if (base == "adapter_model.safetensors" || base == "adapter_config.json") {
    return AdapterNameFromPath(slash == std::string::npos ? "." : p.substr(0, slash));
  }
  const size_t dot = base.rfind('.');
  if (dot != std::string::npos && dot > 0) base = base.substr(0, dot);
  return base;
}

Status Engine::RegisterAdapter(const AdapterSpec& spec) {
  const std::string name = spec.name.empty() ? AdapterNameFromPath(spec.path) : spec.name;
  if (name.empty()) return InvalidArgumentError("adapter '" + spec.path + "' has no name");
  {
    std::lock_guard<std::mutex> lock(adapters_mu_);
    if (adapters_.count(name) != 0) {
      return InvalidArgumentError("an adapter named '" + name + "' is already registered");
    }
  }
  auto adapter = LoraAdapter::Load(spec.path, model_->LoraBase());
  if (!adapter.ok()) {
    return adapter.status().WithContext("adapter '" + name + "' does not fit model '" +
                                        options_.model_path + "'");
  }
  std::lock_guard<std::mutex> lock(adapters_mu_);
  if (!adapters_.emplace(name, RegisteredAdapter{spec.path, std::move(adapter).value()}).second) {
    return InvalidArgumentError("an adapter named '" + name + "' is already registered");
  }
  return Status::Ok();
}

Status Engine::RegisterAdapter(const std::string& name,
                               std::shared_ptr<const LoraAdapter> adapter) {
  if (name.empty() || adapter == nullptr) return InvalidArgumentError("adapter without a name");
  const LoraBaseShape base = model_->LoraBase();
  if (adapter->arch() != base.arch || adapter->n_layer() != base.n_layer) {
    return InvalidArgumentError("adapter '" + name + "' was not built for this model");
  }
  for (const LoraPair& p : adapter->pairs()) {
    const size_t t = static_cast<size_t>(p.target);
    if (p.n_in != base.cols[t] || p.n_out != base.rows[t]) {
      return InvalidArgumentError("adapter '" + name + "' has shapes of another model");
    }
  }
  std::lock_guard<std::mutex> lock(adapters_mu_);
  if (!adapters_.emplace(name, RegisteredAdapter{"", std::move(adapter)}).second) {
    return InvalidArgumentError("an adapter named '" + name + "' is already registered");
  }
  return Status::Ok();
}

Status Engine::UnregisterAdapter(const std::string& name) {
  // default_adapters_ is fixed when the engine opens: no lock needed to read it.
  for (const AdapterChoice& d : default_adapters_) {
    if (d.name == name) {
      return FailedPreconditionError("adapter '" + name +
                                     "' is applied to every session of this engine (opened with "
                                     "it); it cannot be unregistered");
    }
  }
  std::lock_guard<std::mutex> lock(adapters_mu_);
  if (adapters_.erase(name) == 0) return NotFoundError("no adapter named '" + name + "'");
  return Status::Ok();
}

std::vector<AdapterInfo> Engine::ListAdapters() const {
  std::lock_guard<std::mutex> lock(adapters_mu_);
  std::vector<AdapterInfo> out;
  for (const auto& [name, r] : adapters_) {
    out.push_back({name, r.path, r.adapter->Describe(), r.adapter->n_params()});
  }
  return out;
}

std::shared_ptr<const LoraAdapter> Engine::FindAdapter(const std::string& name) const {
  std::lock_guard<std::mutex> lock(adapters_mu_);
  auto it = adapters_.find(name);
  return it == adapters_.end() ? nullptr : it->second.adapter;
}

Status Engine::SetAdapters(Session& session, std::span<const AdapterChoice> adapters) {
  std::vector<std::shared_ptr<const LoraAdapter>> refs;
  std::vector<ActiveLora> active;
  for (const AdapterChoice& c : adapters) {
    if (!std::isfinite(c.scale)) {
      return InvalidArgumentError("adapter '" + c.name + "': scale must be a finite number");
    }
    auto a = FindAdapter(c.name);
    if (a == nullptr) {
      std::string known;
      for (const auto& info : ListAdapters()) known += (known.empty() ? "" : ", ") + info.name;
      return NotFoundError("no adapter named '" + c.name + "' is registered (registered: " +
                           (known.empty() ? "none" : known) + ")");
    }
    active.push_back({a.get(), c.scale});
    refs.push_back(std::move(a));
  }
  // Same names, scales and adapter objects: the session's KV stays valid.
  bool same = adapters.size() == session.adapter_choices_.size();
  for (size_t i = 0; same && i < active.size(); ++i) {
    same = adapters[i] == session.adapter_choices_[i] &&
           active[i].adapter == session.active_[i].adapter;
  }
  if (!same) session.Truncate(0);
  session.adapter_choices_.assign(adapters.begin(), adapters.end());
  session.adapter_refs_ = std::move(refs);
  session.active_ = std::move(active);
  return Status::Ok();
}

std::string Session::AdapterKey() const {
  std::string key;
  for (const AdapterChoice& c : adapter_choices_) {
    char scale[32];
    std::snprintf(scale, sizeof(scale), "%.9g", c.scale);
    key += (key.empty() ? "" : "+") + c.name + "@" + scale;
  }
  return key;
}

}  // namespace odlm
