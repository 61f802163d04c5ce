package sessions

import (
	"sort"
	"time"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// DefaultUsageDays is usage.cost's range when the request gives none.
const DefaultUsageDays = 30

// usageStatus sums the usage every turn recorded, per provider and model.
func (w *worker) usageStatus(m *methods.UsageStatus) {
	ctx, cancel := w.ctx()
	defer cancel()
	rows, err := w.d.Store.Usage(ctx, "", 0, 0)
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	byProvider := map[string]*protocol.ProviderUsage{}
	byModel := map[[2]string]*protocol.ModelUsage{}
	var order []string
	for _, r := range rows {
		p := byProvider[r.Provider]
		if p == nil {
			p = &protocol.ProviderUsage{Provider: r.Provider, Models: []protocol.ModelUsage{}}
			byProvider[r.Provider] = p
			order = append(order, r.Provider)
		}
		p.Turns += r.Turns
		p.InputTokens += r.Input
		p.OutputTokens += r.Output
		p.TotalTokens += r.Total
		mk := [2]string{r.Provider, r.Model}
		mu := byModel[mk]
		if mu == nil {
			mu = &protocol.ModelUsage{Model: r.Model}
			byModel[mk] = mu
		}
		mu.Turns += r.Turns
		mu.InputTokens += r.Input
		mu.OutputTokens += r.Output
		mu.TotalTokens += r.Total
	}
	sort.Strings(order)
	res := protocol.UsageStatus{UpdatedAt: time.Now().UnixMilli(), Providers: []protocol.ProviderUsage{}}
	for _, id := range order {
		p := byProvider[id]
		var models []string
		for mk := range byModel {
			if mk[0] == id {
				models = append(models, mk[1])
			}
		}
		sort.Strings(models)
		for _, model := range models {
			p.Models = append(p.Models, *byModel[[2]string{id, model}])
		}
		res.Providers = append(res.Providers, *p)
	}
	m.Reply(res)
}

// usageCost counts tokens per UTC day over a range, with their cost where
// the config prices the model.
func (w *worker) usageCost(m *methods.UsageCost) {
	p := m.Params
	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	days := p.Days
	if days <= 0 {
		days = DefaultUsageDays
	}
	start, end := today.AddDate(0, 0, 1-days), today.AddDate(0, 0, 1)
	if p.StartDate != "" || p.EndDate != "" {
		var err error
		if p.StartDate != "" {
			if start, err = time.Parse(time.DateOnly, p.StartDate); err != nil {
				m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "invalid startDate: "+p.StartDate, nil))
				return
			}
		}
		if p.EndDate != "" {
			e, err := time.Parse(time.DateOnly, p.EndDate)
			if err != nil {
				m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "invalid endDate: "+p.EndDate, nil))
				return
			}
			end = e.AddDate(0, 0, 1)
		}
		if !end.After(start) {
			m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "endDate is before startDate", nil))
			return
		}
		days = int(end.Sub(start).Hours() / 24)
	}
	if p.AgentScope == "all" && p.AgentID != "" {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "agentScope=all cannot be combined with agentId", nil))
		return
	}
	cfg := w.d.Config.Get()
	prefix := ""
	if p.AgentScope != "all" {
		agent := p.AgentID
		if agent == "" {
			agent = config.DefaultAgent(cfg)
		}
		if !config.KnownAgent(cfg, agent) {
			m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "unknown agent: "+agent, nil))
			return
		}
		prefix = "agent:" + agent + ":"
	}
	ctx, cancel := w.ctx()
	defer cancel()
	rows, err := w.d.Store.Usage(ctx, prefix, start.UnixMilli(), end.UnixMilli())
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	res := protocol.UsageCost{UpdatedAt: time.Now().UnixMilli(), Days: days, Daily: []protocol.DailyUsage{}}
	byDay := map[string]*protocol.DailyUsage{}
	for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
		res.Daily = append(res.Daily, protocol.DailyUsage{Date: d.Format(time.DateOnly)})
	}
	for i := range res.Daily {
		byDay[res.Daily[i].Date] = &res.Daily[i]
	}
	for _, r := range rows {
		day := byDay[r.Day]
		if day == nil {
			continue
		}
		add(&day.UsageCostTotal, r.Input, r.Output, r.Total, r.Turns, cost(cfg, r.Provider+"/"+r.Model))
		add(&res.Totals, r.Input, r.Output, r.Total, r.Turns, cost(cfg, r.Provider+"/"+r.Model))
	}
	m.Reply(res)
}

func cost(cfg *config.Config, ref string) *config.ModelCost {
	if mi, ok := config.ModelInfo(cfg, ref); ok {
		return mi.Cost
	}
	return nil
}

// add counts turns' tokens into t, priced by c (per million tokens; nil:
// unpriced, counted as missing).
func add(t *protocol.UsageCostTotal, in, out, total int64, turns int, c *config.ModelCost) {
	t.Input += in
	t.Output += out
	t.TotalTokens += total
	if c == nil {
		if in+out > 0 {
			t.MissingCostEntries += turns
		}
		return
	}
	ic, oc := float64(in)*c.Input/1e6, float64(out)*c.Output/1e6
	t.InputCost += ic
	t.OutputCost += oc
	t.TotalCost += ic + oc
}

func sessionAgent(key string) string { return core.SessionAgent(key) }
