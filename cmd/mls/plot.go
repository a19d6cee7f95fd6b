package main

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/mlsengine/engine/mls/sim"
)

// The chart of `mls sim --plot`: two log-log panels side by side, the
// median times of each operation and the median message sizes against the
// group size, and a legend column on the right.
const (
	chartWidth  = 10 * vg.Inch
	chartHeight = 4 * vg.Inch
	legendWidth = 2 * vg.Inch
)

// Colours (Okabe and Ito's, told apart with any colour vision) of the
// kinds of operation.
var (
	colorUpdate = color.RGBA{R: 0x00, G: 0x72, B: 0xb2, A: 0xff} // blue
	colorAdd    = color.RGBA{R: 0x00, G: 0x9e, B: 0x73, A: 0xff} // bluish green
	colorRemove = color.RGBA{R: 0xd5, G: 0x5e, B: 0x00, A: 0xff} // vermilion
	colorJoin   = color.RGBA{R: 0xcc, G: 0x79, B: 0xa7, A: 0xff} // reddish purple
)

// series is one line of the chart: its legend name, style and value in a
// result (0 for none: no such operation in that run).
type series struct {
	name   string
	color  color.Color
	dashed bool
	glyph  draw.GlyphDrawer
	value  func(*sim.Result) float64
}

func timeSeries() []series {
	ops := []struct {
		name  string
		color color.Color
		op    func(*sim.Result) sim.Op
	}{
		{"update", colorUpdate, func(r *sim.Result) sim.Op { return r.Ops.Update }},
		{"add", colorAdd, func(r *sim.Result) sim.Op { return r.Ops.Add }},
		{"remove", colorRemove, func(r *sim.Result) sim.Op { return r.Ops.Remove }},
	}
	var s []series
	for _, o := range ops {
		s = append(s,
			series{o.name + " create", o.color, false, draw.CircleGlyph{}, func(r *sim.Result) float64 { return o.op(r).CreateMedianMS }},
			series{o.name + " process", o.color, true, draw.TriangleGlyph{}, func(r *sim.Result) float64 { return o.op(r).ProcessMedianMS }})
	}
	return append(s, series{"join", colorJoin, false, draw.SquareGlyph{}, func(r *sim.Result) float64 { return r.Join.MedianMS }})
}

func sizeSeries() []series {
	return []series{
		{"update commit", colorUpdate, false, draw.CircleGlyph{}, func(r *sim.Result) float64 { return float64(r.Ops.Update.CommitBytesMedian) }},
		{"add commit", colorAdd, false, draw.CircleGlyph{}, func(r *sim.Result) float64 { return float64(r.Ops.Add.CommitBytesMedian) }},
		{"remove commit", colorRemove, false, draw.CircleGlyph{}, func(r *sim.Result) float64 { return float64(r.Ops.Remove.CommitBytesMedian) }},
		{"Welcome", colorJoin, false, draw.SquareGlyph{}, func(r *sim.Result) float64 { return float64(r.Join.WelcomeBytes) }},
	}
}

// writePlot writes the SVG chart of results (a sweep's, or one run's).
// A series has a point for each result with a positive value.
func writePlot(w io.Writer, results []*sim.Result) error {
	if len(results) == 0 {
		return errors.New("no result to plot")
	}
	rs := slices.Clone(results)
	slices.SortFunc(rs, func(a, b *sim.Result) int { return a.Members - b.Members })

	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.ThumbnailWidth = 0.4 * vg.Inch
	legend.TextStyle.Font.Size = 10
	legend.Padding = vg.Points(2.5)
	times, err := panel("median wall-clock time per operation", "time", "ms", formatPlain, rs, timeSeries(), &legend)
	if err != nil {
		return err
	}
	legend.Add("")
	sizes, err := panel("median message size", "size", "bytes", formatSI, rs, sizeSeries(), &legend)
	if err != nil {
		return err
	}
	r := rs[0]
	legend.Add("")
	legend.Add(fmt.Sprintf("suite %d, %d epochs,", uint16(r.Suite), r.Epochs))
	legend.Add(fmt.Sprintf("%d observers", r.Observers))
	legend.Add(fmt.Sprintf("update:add:remove %d:%d:%d", r.Mix.Update, r.Mix.Add, r.Mix.Remove))
	legend.Add(fmt.Sprintf("committers %v", r.Committers))

	canvas := vgsvg.New(chartWidth, chartHeight)
	dc := draw.New(canvas)
	plots := draw.Crop(dc, 0, -legendWidth, 0, 0)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: 0.2 * vg.Inch, PadTop: 0.1 * vg.Inch, PadBottom: 0.1 * vg.Inch, PadLeft: 0.1 * vg.Inch}
	times.Draw(tiles.At(plots, 0, 0))
	sizes.Draw(tiles.At(plots, 1, 0))
	legend.Draw(draw.Crop(dc, chartWidth-legendWidth+0.15*vg.Inch, 0, 0, -0.45*vg.Inch))
	_, err = canvas.WriteTo(w)
	return err
}

// panel returns a log-log plot of the series of rs against the group
// size, adding its series with points to legend under "heading (unit)".
func panel(title, heading, unit string, format func(float64) string, rs []*sim.Result, ss []series, legend *plot.Legend) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "members"
	p.Y.Label.Text = unit
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker = decadeTicks{formatSI}
	p.Y.Tick.Marker = decadeTicks{format}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xdd}
	grid.Horizontal.Color = color.Gray{Y: 0xdd}
	p.Add(grid)

	ymin, ymax := math.Inf(1), math.Inf(-1)
	legend.Add(heading + " (" + unit + ")")
	for _, s := range ss {
		var xys plotter.XYs
		for _, r := range rs {
			if v := s.value(r); v > 0 {
				xys = append(xys, plotter.XY{X: float64(r.Members), Y: v})
				ymin, ymax = min(ymin, v), max(ymax, v)
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		line.Color, points.Color = s.color, s.color
		line.Width = vg.Points(1.5)
		if s.dashed {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		points.Shape = s.glyph
		points.Radius = vg.Points(2.5)
		p.Add(line, points)
		legend.Add(s.name, line, points)
	}
	p.X.Min, p.X.Max = decades(float64(rs[0].Members), float64(rs[len(rs)-1].Members))
	if ymin > ymax { // nothing to plot: an empty panel on one decade
		ymin, ymax = 1, 1
	}
	p.Y.Min, p.Y.Max = decades(ymin, ymax)
	return p, nil
}

// decades returns the powers of ten around [lo, hi] (lo, hi > 0): at
// least one decade apart.
func decades(lo, hi float64) (float64, float64) {
	a := math.Pow10(int(math.Floor(math.Log10(lo))))
	b := math.Pow10(int(math.Ceil(math.Log10(hi))))
	if b <= a {
		b = a * 10
	}
	return a, b
}

// decadeTicks marks a log axis: a labelled tick at each power of ten and
// unlabelled ones at 2 to 9 times it, of which 2 and 5 are labelled too
// when the axis spans at most two decades.
type decadeTicks struct {
	format func(float64) string
}

func (t decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	few := hi/lo <= 100.5
	var ticks []plot.Tick
	for k := int(math.Floor(math.Log10(lo))); k <= int(math.Ceil(math.Log10(hi))); k++ {
		for i := 1; i <= 9; i++ {
			v := float64(i) * math.Pow10(k)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			tk := plot.Tick{Value: v}
			if i == 1 || few && (i == 2 || i == 5) {
				tk.Label = t.format(v)
			}
			ticks = append(ticks, tk)
		}
	}
	return ticks
}

// formatPlain writes v in decimal: 0.01, 2, 500.
func formatPlain(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// formatSI writes a count with an SI prefix: 500, 2k, 10k, 1M.
func formatSI(v float64) string {
	for _, p := range []struct {
		div    float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= p.div {
			return formatPlain(v/p.div) + p.suffix
		}
	}
	return formatPlain(v)
}
