//! The on-time report as an SVG bar chart drawn on the server (plotters' SVG backend): per
//! row, the dossiers resolved early, on time and late, stacked, so the late share stands out
//! as the national index counts it.

use plotters::prelude::*;

/// One bar: its label and its early, on-time and late counts.
pub struct Bar {
    pub label: String,
    pub early: i64,
    pub on_time: i64,
    pub late: i64,
}

const EARLY: RGBColor = RGBColor(46, 125, 50);
const ON_TIME: RGBColor = RGBColor(102, 187, 106);
const LATE: RGBColor = RGBColor(198, 40, 40);

/// The chart as an SVG document (empty bars draw an empty frame).
pub fn on_time(title: &str, bars: &[Bar]) -> Result<String, String> {
    let mut out = String::new();
    let height = 80 + 34 * bars.len().max(1) as u32;
    {
        let root = SVGBackend::with_string(&mut out, (760, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let most = bars
            .iter()
            .map(|b| b.early + b.on_time + b.late)
            .max()
            .unwrap_or(0)
            .max(1);
        let n = bars.len().max(1) as i32;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(260)
            .build_cartesian_2d(0i64..most + most / 10 + 1, (0..n).into_segmented())
            .map_err(|e| e.to_string())?;
        let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(bars.len().max(1))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels
                    .get(*i as usize)
                    .map(|l| shorten(l, 32))
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc("Số hồ sơ đã giải quyết")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, b) in bars.iter().enumerate() {
            let i = i as i32;
            let parts = [
                (0, b.early, EARLY),
                (b.early, b.early + b.on_time, ON_TIME),
                (b.early + b.on_time, b.early + b.on_time + b.late, LATE),
            ];
            for (from, to, color) in parts {
                if to > from {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [
                                (from, SegmentValue::Exact(i)),
                                (to, SegmentValue::Exact(i + 1)),
                            ],
                            color.filled(),
                        )))
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        for (name, color) in [("Sớm hạn", EARLY), ("Đúng hạn", ON_TIME), ("Trễ hạn", LATE)]
        {
            chart
                .draw_series(std::iter::empty::<Rectangle<(i64, SegmentValue<i32>)>>())
                .map_err(|e| e.to_string())?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// `s` cut to `max` characters with an ellipsis (a chart's label).
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_a_bar_per_row_with_its_late_part() {
        let svg = on_time(
            "Tỷ lệ đúng hạn",
            &[
                Bar {
                    label: "Phòng Kinh tế, Hạ tầng và Đô thị".into(),
                    early: 2,
                    on_time: 5,
                    late: 1,
                },
                Bar {
                    label: "Bộ phận một cửa".into(),
                    early: 0,
                    on_time: 3,
                    late: 0,
                },
            ],
        )
        .expect("drawn");
        assert!(svg.starts_with("<svg"), "{}", &svg[..60.min(svg.len())]);
        assert!(svg.contains("Phòng Kinh tế"));
        // The late part is drawn in its own colour once (one row has late dossiers).
        assert!(svg.contains("#C62828"), "{svg}");
    }

    #[test]
    fn a_row_key_with_markup_is_drawn_as_text() {
        // Report keys are department and procedure names from uploaded procedures.
        let svg = on_time(
            "<b>title</b>",
            &[Bar {
                label: "<script>alert(1)</script>".into(),
                early: 1,
                on_time: 0,
                late: 0,
            }],
        )
        .expect("drawn");
        assert!(!svg.contains("<script") && !svg.contains("<b>"), "{svg}");
    }
}
