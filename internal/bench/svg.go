package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// WriteSVG draws throughput and latency against offered rate for the steps
// of rep: achieved throughput (left axis, linear) and p50/p99 latency (right
// axis, logarithmic), one point per step. Standard library only.
func WriteSVG(w io.Writer, rep *Report) error {
	const (
		W, H                 = 760, 420
		left, right, top, bt = 80, 80, 50, 60
		pw, ph               = W - left - right, H - top - bt
	)
	steps := rep.Steps
	if len(steps) == 0 {
		return fmt.Errorf("no steps to chart")
	}
	fan := steps[0].Fanout > 1
	thr := func(s StepResult) float64 {
		if fan {
			return s.DeliveryRate
		}
		if s.Fanout == 0 {
			return s.AckRate
		}
		return s.DeliveryRate
	}
	lat := func(s StepResult) Quantiles {
		if s.Fanout == 0 {
			return s.AckLatency
		}
		return s.Latency
	}
	unit := "msg/s"
	if fan {
		unit = "deliveries/s"
	}
	var xMax, yMax float64
	latMin, latMax := math.Inf(1), 0.0
	for _, s := range steps {
		xMax = math.Max(xMax, s.OfferedRate)
		yMax = math.Max(yMax, thr(s))
		if fan {
			yMax = math.Max(yMax, s.OfferedRate*float64(s.Fanout))
		} else {
			yMax = math.Max(yMax, s.OfferedRate)
		}
		for _, v := range []float64{lat(s).P50, lat(s).P99} {
			if v > 0 {
				latMin = math.Min(latMin, v)
				latMax = math.Max(latMax, v)
			}
		}
	}
	xMax = niceCeil(xMax)
	yMax = niceCeil(yMax)
	if math.IsInf(latMin, 1) {
		latMin, latMax = 0.1, 1
	}
	lo := math.Pow(10, math.Floor(math.Log10(latMin)))
	hi := math.Pow(10, math.Ceil(math.Log10(latMax)))
	if hi <= lo {
		hi = lo * 10
	}
	px := func(x float64) float64 { return left + x/xMax*pw }
	py := func(y float64) float64 { return top + ph - y/yMax*ph }
	pl := func(ms float64) float64 {
		ms = math.Max(ms, lo)
		return top + ph - (math.Log10(ms)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*ph
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	title := fmt.Sprintf("parley bench %s — %s", rep.Workload, rep.Commit)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	// grid and axes
	for i := 0; i <= 5; i++ {
		y := top + ph - float64(i)/5*ph
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, left+pw, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#1f6feb">%s</text>`+"\n", left-6, y+4, human(yMax*float64(i)/5))
		x := left + float64(i)/5*pw
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, top+ph+18, human(xMax*float64(i)/5))
	}
	for d := lo; d <= hi*1.0001; d *= 10 {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#cf222e">%s ms</text>`+"\n", left+pw+6, pl(d)+4, trimFloat(d))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, pw, ph)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">offered rate (messages/s)</text>`+"\n", left+pw/2, H-20)
	fmt.Fprintf(&b, `<text transform="translate(18,%d) rotate(-90)" text-anchor="middle" fill="#1f6feb">achieved %s</text>`+"\n", top+ph/2, unit)
	fmt.Fprintf(&b, `<text transform="translate(%d,%d) rotate(90)" text-anchor="middle" fill="#cf222e">latency (log)</text>`+"\n", W-14, top+ph/2)
	series := func(color, dash string, pts [][2]float64, label string, ly int) {
		var p []string
		for _, q := range pts {
			p = append(p, fmt.Sprintf("%.1f,%.1f", q[0], q[1]))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`+"\n", color, dash, strings.Join(p, " "))
		for _, q := range pts {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", q[0], q[1], color)
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			left+10, ly, left+34, ly, color, dash, left+40, ly+4, html.EscapeString(label))
	}
	var tp, p50, p99 [][2]float64
	for _, s := range steps {
		tp = append(tp, [2]float64{px(s.OfferedRate), py(thr(s))})
		p50 = append(p50, [2]float64{px(s.OfferedRate), pl(lat(s).P50)})
		p99 = append(p99, [2]float64{px(s.OfferedRate), pl(lat(s).P99)})
	}
	series("#1f6feb", "", tp, "achieved "+unit, top+14)
	series("#cf222e", "6 3", p50, "p50 latency", top+30)
	series("#cf222e", "", p99, "p99 latency", top+46)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return trimFloat(v/1e6) + "M"
	case v >= 1e3:
		return trimFloat(v/1e3) + "k"
	}
	return trimFloat(v)
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
