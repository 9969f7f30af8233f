/* svg_plot.h — the one SVG writer of dopt's examples: line plots, scatter, circles, 2-D
 * trajectories with headings, a title, axis labels and a legend.  Example support code, not part
 * of the library: plain C99 with static functions, include it from an example's .c file.
 *
 *     svg_plot p;
 *     if (svg_open(&p, "loss.svg", 640, 400, "training loss", "epoch", "loss") == 0) {
 *         svg_axes(&p, 0, n - 1, 0, max_loss);          // data ranges of the two axes
 *         svg_line(&p, epochs, losses, n, SVG_BLUE, "imitation loss");
 *         svg_close(&p);                                 // writes the legend and the file end
 *     }
 *
 * svg_range() finds a range over several arrays; svg_axes_equal() keeps one unit the same length
 * on both axes (maps and trajectories).  Every drawing call clips nothing and accepts NaN-free
 * data; points outside the axes' range are drawn outside the frame. */
#ifndef DOPT_EXAMPLES_SVG_PLOT_H
#define DOPT_EXAMPLES_SVG_PLOT_H
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SVG_BLUE "#1f77b4"
#define SVG_ORANGE "#ff7f0e"
#define SVG_GREEN "#2ca02c"
#define SVG_RED "#d62728"
#define SVG_PURPLE "#9467bd"
#define SVG_GREY "#7f7f7f"

#define SVG_MAX_LEGEND 12
#if defined(__GNUC__) || defined(__clang__)
#define SVG_FN static __attribute__((unused))
#else
#define SVG_FN static
#endif

typedef struct svg_plot {
    FILE *f;
    double width, height;           /* picture size in pixels                                */
    double left, right, top, bottom; /* frame margins in pixels                              */
    double x0, x1, y0, y1;          /* data ranges mapped onto the frame                      */
    int nlegend;
    const char *legend_color[SVG_MAX_LEGEND];
    const char *legend_label[SVG_MAX_LEGEND];
    int legend_dashed[SVG_MAX_LEGEND];
} svg_plot;

/* svg_range: widen [*lo, *hi] to hold the n values x[0], x[stride], ...  Start with
 * *lo = HUGE_VAL, *hi = -HUGE_VAL. */
SVG_FN void svg_range(const double *x, int n, int stride, double *lo, double *hi)
{
    int i;
    for (i = 0; i < n; ++i) {
        double v = x[(long)i * stride];
        if (v < *lo) *lo = v;
        if (v > *hi) *hi = v;
    }
}

/* svg_open: start the picture at `path` (w x h pixels) with a title and axis labels (any may be
 * NULL).  Returns 0, or -1 when the file cannot be written. */
SVG_FN int svg_open(svg_plot *p, const char *path, int w, int h, const char *title,
                    const char *xlabel, const char *ylabel)
{
    p->f = fopen(path, "w");
    if (!p->f) return -1;
    p->width = w; p->height = h;
    p->left = 64; p->right = 16; p->top = title ? 34 : 14; p->bottom = xlabel ? 46 : 30;
    p->x0 = 0; p->x1 = 1; p->y0 = 0; p->y1 = 1;
    p->nlegend = 0;
    fprintf(p->f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
                  "font-family='sans-serif' font-size='12'>\n<rect width='%d' height='%d' fill='white'/>\n",
            w, h, w, h);
    if (title) fprintf(p->f, "<text x='%g' y='20' text-anchor='middle' font-size='14'>%s</text>\n", w / 2.0, title);
    if (xlabel) fprintf(p->f, "<text x='%g' y='%g' text-anchor='middle'>%s</text>\n", w / 2.0, h - 8.0, xlabel);
    if (ylabel)
        fprintf(p->f, "<text x='14' y='%g' text-anchor='middle' transform='rotate(-90 14 %g)'>%s</text>\n",
                h / 2.0, h / 2.0, ylabel);
    return 0;
}

SVG_FN double svg_px(const svg_plot *p, double x)
{
    return p->left + (x - p->x0) / (p->x1 - p->x0) * (p->width - p->left - p->right);
}
SVG_FN double svg_py(const svg_plot *p, double y)
{
    return p->height - p->bottom - (y - p->y0) / (p->y1 - p->y0) * (p->height - p->top - p->bottom);
}

/* svg_axes: map the data ranges [x0, x1] x [y0, y1] onto the frame and draw it with a few tick
 * labels.  Empty ranges are widened by one unit. */
SVG_FN void svg_axes(svg_plot *p, double x0, double x1, double y0, double y1)
{
    int i;
    if (!(x1 > x0)) { x0 -= 0.5; x1 += 0.5; }
    if (!(y1 > y0)) { y0 -= 0.5; y1 += 0.5; }
    p->x0 = x0; p->x1 = x1; p->y0 = y0; p->y1 = y1;
    fprintf(p->f, "<rect x='%g' y='%g' width='%g' height='%g' fill='none' stroke='#444'/>\n", p->left, p->top,
            p->width - p->left - p->right, p->height - p->top - p->bottom);
    for (i = 0; i <= 4; ++i) {
        double xv = x0 + (x1 - x0) * i / 4.0, yv = y0 + (y1 - y0) * i / 4.0;
        fprintf(p->f, "<text x='%g' y='%g' text-anchor='middle' fill='#444'>%.3g</text>\n", svg_px(p, xv),
                p->height - p->bottom + 16, xv);
        fprintf(p->f, "<text x='%g' y='%g' text-anchor='end' fill='#444'>%.3g</text>\n", p->left - 4,
                svg_py(p, yv) + 4, yv);
    }
}

/* svg_axes_equal: like svg_axes, but one data unit has the same length on both axes (the
 * shorter range is widened around its centre). */
SVG_FN void svg_axes_equal(svg_plot *p, double x0, double x1, double y0, double y1)
{
    double fw = p->width - p->left - p->right, fh = p->height - p->top - p->bottom;
    double sx = (x1 - x0) / fw, sy = (y1 - y0) / fh, s = sx > sy ? sx : sy, c;
    if (!(s > 0)) s = 1.0 / fw;
    c = 0.5 * (x0 + x1); x0 = c - 0.5 * s * fw; x1 = c + 0.5 * s * fw;
    c = 0.5 * (y0 + y1); y0 = c - 0.5 * s * fh; y1 = c + 0.5 * s * fh;
    svg_axes(p, x0, x1, y0, y1);
}

SVG_FN void svg_legend_add(svg_plot *p, const char *color, const char *label, int dashed)
{
    if (!label || p->nlegend >= SVG_MAX_LEGEND) return;
    p->legend_color[p->nlegend] = color;
    p->legend_label[p->nlegend] = label;
    p->legend_dashed[p->nlegend] = dashed;
    p->nlegend++;
}

/* svg_line_strided: a polyline through (x[i*sx], y[i*sy]), i < n; dashed != 0 draws it dashed;
 * label (may be NULL) goes into the legend. */
SVG_FN void svg_line_strided(svg_plot *p, const double *x, int sx, const double *y, int sy, int n,
                             const char *color, const char *label, int dashed)
{
    int i;
    fprintf(p->f, "<polyline fill='none' stroke='%s' stroke-width='1.6'%s points='", color,
            dashed ? " stroke-dasharray='6,4'" : "");
    for (i = 0; i < n; ++i) fprintf(p->f, "%.2f,%.2f ", svg_px(p, x[(long)i * sx]), svg_py(p, y[(long)i * sy]));
    fprintf(p->f, "'/>\n");
    svg_legend_add(p, color, label, dashed);
}

/* svg_line: a solid polyline through (x[i], y[i]), i < n. */
SVG_FN void svg_line(svg_plot *p, const double *x, const double *y, int n, const char *color, const char *label)
{
    svg_line_strided(p, x, 1, y, 1, n, color, label, 0);
}

/* svg_points: a dot of radius r pixels at each (x[i*sx], y[i*sy]), i < n. */
SVG_FN void svg_points(svg_plot *p, const double *x, int sx, const double *y, int sy, int n, double r,
                       const char *color, const char *label)
{
    int i;
    for (i = 0; i < n; ++i)
        fprintf(p->f, "<circle cx='%.2f' cy='%.2f' r='%g' fill='%s' fill-opacity='0.7'/>\n", svg_px(p, x[(long)i * sx]),
                svg_py(p, y[(long)i * sy]), r, color);
    svg_legend_add(p, color, label, 0);
}

/* svg_circle: a disc of data radius `radius` at (cx, cy) (obstacles, goals). */
SVG_FN void svg_circle(svg_plot *p, double cx, double cy, double radius, const char *fill, const char *label)
{
    double rx = fabs(svg_px(p, cx + radius) - svg_px(p, cx)), ry = fabs(svg_py(p, cy + radius) - svg_py(p, cy));
    fprintf(p->f, "<ellipse cx='%.2f' cy='%.2f' rx='%.2f' ry='%.2f' fill='%s' fill-opacity='0.35' stroke='%s'/>\n",
            svg_px(p, cx), svg_py(p, cy), rx, ry, fill, fill);
    svg_legend_add(p, fill, label, 0);
}

/* svg_poses: a 2-D trajectory of n poses (x, y, heading) read at x[i*stride], y[i*stride],
 * heading[i*stride]: the path, and every `every`-th pose as a short heading tick of `len`
 * data units. */
SVG_FN void svg_poses(svg_plot *p, const double *x, const double *y, const double *heading, int stride, int n,
                      int every, double len, const char *color, const char *label)
{
    int i;
    svg_line_strided(p, x, stride, y, stride, n, color, label, 0);
    if (every < 1) every = 1;
    for (i = 0; i < n; i += every) {
        double px = x[(long)i * stride], py = y[(long)i * stride], t = heading[(long)i * stride];
        fprintf(p->f, "<line x1='%.2f' y1='%.2f' x2='%.2f' y2='%.2f' stroke='%s' stroke-width='2'/>\n", svg_px(p, px),
                svg_py(p, py), svg_px(p, px + len * cos(t)), svg_py(p, py + len * sin(t)), color);
    }
}

/* svg_text: a label at data point (x, y). */
SVG_FN void svg_text(svg_plot *p, double x, double y, const char *text)
{
    fprintf(p->f, "<text x='%.2f' y='%.2f'>%s</text>\n", svg_px(p, x), svg_py(p, y), text);
}

/* svg_close: draw the legend (top right of the frame) and finish the file.  Returns 0, or -1 when
 * writing failed. */
SVG_FN int svg_close(svg_plot *p)
{
    int i, bad;
    size_t longest = 0;
    double lx, ly;
    for (i = 0; i < p->nlegend; ++i)
        if (strlen(p->legend_label[i]) > longest) longest = strlen(p->legend_label[i]);
    lx = p->width - p->right - 40 - 7.0 * (double)longest;
    if (p->nlegend)
        fprintf(p->f, "<rect x='%g' y='%g' width='%g' height='%d' fill='white' fill-opacity='0.85' stroke='#bbb'/>\n",
                lx - 6, p->top + 4, 40 + 7.0 * (double)longest, 16 * p->nlegend + 6);
    for (i = 0; i < p->nlegend; ++i) {
        ly = p->top + 18 + 16 * i;
        fprintf(p->f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='%s' stroke-width='2.5'%s/>\n", lx, ly - 4, lx + 22,
                ly - 4, p->legend_color[i], p->legend_dashed[i] ? " stroke-dasharray='6,4'" : "");
        fprintf(p->f, "<text x='%g' y='%g'>%s</text>\n", lx + 28, ly, p->legend_label[i]);
    }
    fprintf(p->f, "</svg>\n");
    bad = ferror(p->f);
    if (fclose(p->f) != 0) bad = 1;
    p->f = NULL;
    return bad ? -1 : 0;
}
#endif /* DOPT_EXAMPLES_SVG_PLOT_H */
