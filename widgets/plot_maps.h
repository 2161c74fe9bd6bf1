// SPDX-License-Identifier: GPL-3.0-or-later
// The QCustomPlot set-up that the "see inside" views share: integer ticks, zoom and drag along x,
// borderless bars one plot unit apart, and colour maps of whole cells (with a colour scale) that stay drawable when a dimension is one
// cell wide.
#pragma once

#include <QString>

#include <vector>

#include <QColor>

class QCPAxis;
class QCPBars;
class QCPColorGradient;
class QCPColorMap;
class QCustomPlot;

namespace logitscope::widgets {

// Integer ticks only (experts, positions): 1, 2, 5, 10, ... steps as space allows.
void integer_ticks(QCPAxis* axis);

// Rows 0..layers.size()-1 of a map labelled with their stack layer numbers (thinned past 16 rows),
// the axis covering them all.
void label_layer_rows(QCPAxis* axis, const std::vector<int>& layers);

// Zoom and drag along x only: 128 experts or a long conversation, the other axis stays whole.
void zoom_along_x(QCustomPlot* plot);

// Bars 0.8 plot units wide (one per integer key), filled with `colour`, named for the legend.
QCPBars* add_bars(QCustomPlot* plot, const QColor& colour, const QString& name = {});

// A colour map without interpolation and its colour scale at the right, labelled `scale_label`.
QCPColorMap* add_map(QCustomPlot* plot, const QCPColorGradient& gradient, const QString& scale_label);

// `keys` x `values` cells centred on integers (a one-cell dimension is stored as two equal cells,
// because QCustomPlot cannot draw a zero-wide range); set_map_cell fills both of those.
void size_map(QCPColorMap* map, int keys, int values);
void set_map_cell(QCPColorMap* map, int key, int value, int keys, int values, double v);
// The cell's value as stored (for tests and read-outs).
double map_cell(const QCPColorMap* map, int key, int value, int keys, int values);

}  // namespace logitscope::widgets
