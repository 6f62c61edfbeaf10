# Reference values for toolkit.stats.funnel, from FunnelPlotR (NHS-R Community, MIT).
#
# Regenerate (from the repository root). FunnelPlotR is not a Debian package: build it from its
# source (version 0.6.0, commit 9020d49) into a private library, relaxing its ggplot2 version and
# its one ggplot2::is_ggplot() call as shared/PITFALLS.md describes (the limit, phi and tau2
# calculations do not use ggplot2), then
#     apt-get install r-base-core r-cran-dplyr r-cran-ggplot2 r-cran-ggrepel r-cran-scales \
#         r-cran-rlang
#     R_LIBS=/tmp/rlib Rscript tests/reference/funnel_reference.R
# The input tests/reference/data/funnel_input.csv is synthetic. If it is missing the script first
# generates it with set.seed(20250515); delete it to regenerate the input too.
#
# Datasets (column `dataset`):
# * proportions: 25 units, denominators 4 to 2,500, true rates logit-normal around 0.3 (sd 0.4 on
#   the logit scale: real overdispersion). Includes a unit of 4 whose 99.8% lower limit is cut
#   at 0.
# * ratios: 25 units, expected counts 1.5 to 400 (two decimals), observed Poisson with a
#   log-normal multiplier (sd 0.3): overdispersed standardised ratios.
# * proportions_null: 12 units whose events are n * 0.3 rounded, so phi < 1 (no overdispersion).
# FunnelPlotR settings: data_type "PR" (proportions) or "SR" with sr_method "SHMI" (ratios;
# SHMI_rounding = FALSE, so expected counts are not rounded), trim_by = 0.1, and either
# draw_adjusted = TRUE (our adjust = "additive") or draw_adjusted = FALSE, draw_unadjusted = TRUE
# (our adjust = "none"). Each is run with limit = 95 and limit = 99 to read both outlier flags.
#
# Outputs (numbers at full precision):
# * expected/funnel_units.csv: per dataset, adjust and unit: n (denominator), events, estimate
#   (rr), target, z (FunnelPlotR's Uzscore), trimmed (winsorised or truncated), the limits the
#   flags use (the overdispersed ones when FunnelPlotR draws adjusted limits, else the unadjusted
#   ones), flag (from the two outlier columns and the side of the target), phi, tau2 and
#   FunnelPlotR's own draw_adjusted after its phi <= 1 check. FunnelPlotR sets phi and tau2 to 0
#   when draw_adjusted = FALSE, so only the "additive" rows carry them.
# * expected/funnel_limits.csv: FunnelPlotR's limits lookup (its grid of 1,000 denominators plus
#   the units'; the first 40 points, every 40th and the units' own are kept), tidy: dataset,
#   adjust, denominator, level, side, limit.
suppressPackageStartupMessages(library(FunnelPlotR))

here <- "tests/reference"
input_path <- file.path(here, "data", "funnel_input.csv")

make_input <- function() {
  set.seed(20250515)
  k <- 25
  n <- c(4L, round(exp(seq(log(15), log(2500), length.out = k - 1))))
  p <- plogis(qlogis(0.3) + rnorm(k, 0, 0.4))
  props <- data.frame(dataset = "proportions", group = sprintf("Unit %02d", 1:k),
                      events = rbinom(k, n, p), n = n)
  expected <- round(exp(seq(log(1.5), log(400), length.out = k)) * runif(k, 0.9, 1.1), 2)
  observed <- rpois(k, expected * exp(rnorm(k, 0, 0.3)))
  observed[observed == 0] <- 1L  # a log ratio needs an event (see the test's own zero case)
  ratios <- data.frame(dataset = "ratios", group = sprintf("Trust %02d", 1:k),
                       events = observed, n = expected)
  n_null <- round(exp(seq(log(20), log(900), length.out = 12)))
  null <- data.frame(dataset = "proportions_null", group = sprintf("Area %02d", 1:12),
                     events = round(n_null * 0.3), n = n_null)
  write.csv(rbind(props, ratios, null), input_path, row.names = FALSE)
}
if (!file.exists(input_path)) make_input()
input <- read.csv(input_path)

run <- function(d, data_type, adjust, limit) {
  suppressMessages(funnel_plot(
    d, numerator = events, denominator = n, group = group, data_type = data_type,
    sr_method = "SHMI", SHMI_rounding = FALSE, trim_by = 0.1, limit = limit,
    draw_adjusted = adjust == "additive", draw_unadjusted = adjust == "none",
    label = NA))
}

unit_rows <- list()
limit_rows <- list()
for (dataset in unique(input$dataset)) {
  d <- input[input$dataset == dataset, ]
  data_type <- if (dataset == "ratios") "SR" else "PR"
  for (adjust in c("none", "additive")) {
    f95 <- run(d, data_type, adjust, 95)
    f99 <- run(d, data_type, adjust, 99)
    a <- f99$aggregated_data
    stopifnot(identical(as.character(a$group), as.character(f95$aggregated_data$group)))
    used <- if (f99$draw_adjusted) c("OD95LCL", "OD95UCL", "OD99LCL", "OD99UCL") else
      c("LCL95", "UCL95", "LCL99", "UCL99")
    trimmed <- if (data_type == "SR") a$truncated else a$winsorised
    target <- if (data_type == "SR") 1 else sum(d$events) / sum(d$n)
    side <- ifelse(a$rr > target, "above", "below")
    flag <- ifelse(a$outlier == 1, paste(side, "99.8%"),
                   ifelse(f95$aggregated_data$outlier == 1, paste(side, "95%"), "inside"))
    unit_rows[[length(unit_rows) + 1]] <- data.frame(
      dataset = dataset, adjust = adjust, group = as.character(a$group), n = a$denominator,
      events = a$numerator, estimate = a$rr, target = target, z = a$Uzscore,
      trimmed = trimmed == 1,
      lower_95 = a[[used[1]]], upper_95 = a[[used[2]]],
      lower_998 = a[[used[3]]], upper_998 = a[[used[4]]],
      flag = flag, phi = f99$phi, tau2 = f99$tau2, draw_adjusted = f99$draw_adjusted)
    lk <- f99$limits_lookup
    # Keep the file small: the first 40 grid points (where proportion limits reach 0 or 1),
    # every 40th after them, and the units' own denominators.
    lk <- lk[seq_len(nrow(lk)) <= 40 | seq_len(nrow(lk)) %% 40 == 0 | lk$number_seq %in% d$n, ]
    cols <- if (adjust == "additive") c("odll95", "odul95", "odll998", "odul998") else
      c("ll95", "ul95", "ll998", "ul998")
    for (i in 1:4) {
      limit_rows[[length(limit_rows) + 1]] <- data.frame(
        dataset = dataset, adjust = adjust, denominator = lk$number_seq,
        level = if (i <= 2) "95%" else "99.8%", side = if (i %% 2 == 1) "lower" else "upper",
        limit = lk[[cols[i]]])
    }
  }
}
write.csv(do.call(rbind, unit_rows), file.path(here, "expected", "funnel_units.csv"),
          row.names = FALSE)
write.csv(do.call(rbind, limit_rows), file.path(here, "expected", "funnel_limits.csv"),
          row.names = FALSE)
