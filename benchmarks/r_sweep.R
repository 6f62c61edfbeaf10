# The comparison sweep in R survey, for benchmarks/sweep_vs_r.py.
#
# Usage: Rscript benchmarks/r_sweep.R DATA.csv RESULTS.csv INDICATORS DIMENSIONS REFERENCES
#   INDICATORS, DIMENSIONS: comma-separated column names; REFERENCES: the reference group of each
#   dimension, comma-separated, in the same order.
# Design: weights only, svydesign(ids = ~1, weights = ~w). For each indicator x dimension:
#   svyby(~y, ~group, subset(design, !is.na(y)), svymean, covmat = TRUE) (each group a domain
#   of the full design: a subset of an uncalibrated design keeps the design's PSU count), then
#   svycontrast(log(group / reference)) for every other group.
# Writes one row per indicator x dimension x group: estimate, se, log_rl, log_rl_se (NA for the
# reference) and prints "seconds <elapsed>" for the estimation only (reading the CSV excluded).
suppressPackageStartupMessages(library(survey))

args <- commandArgs(trailingOnly = TRUE)
indicators <- strsplit(args[3], ",")[[1]]
dimensions <- strsplit(args[4], ",")[[1]]
references <- setNames(strsplit(args[5], ",")[[1]], dimensions)

data <- if (requireNamespace("data.table", quietly = TRUE)) {
  as.data.frame(data.table::fread(args[1], na.strings = c("", "NA")))
} else {
  read.csv(args[1], na.strings = c("", "NA"))
}
for (dimension in dimensions) data[[dimension]] <- factor(data[[dimension]])

one_sweep <- function(design, indicator, dimension, reference) {
  answered <- subset(design, !is.na(design$variables[[indicator]]))
  by_group <- svyby(as.formula(paste0("~", indicator)), as.formula(paste0("~", dimension)),
                    answered, svymean, covmat = TRUE, na.rm.by = TRUE, drop.empty.groups = TRUE)
  groups <- as.character(by_group[[dimension]])
  others <- setdiff(groups, reference)
  contrasts <- lapply(others, function(g) parse(text = sprintf("log(`%s` / `%s`)", g, reference))[[1]])
  names(contrasts) <- others
  log_rl <- svycontrast(by_group, contrasts)
  out <- data.frame(indicator = indicator, dimension = dimension, group = groups,
                    estimate = coef(by_group), se = SE(by_group),
                    log_rl = NA_real_, log_rl_se = NA_real_, stringsAsFactors = FALSE)
  out$log_rl[match(others, groups)] <- coef(log_rl)
  out$log_rl_se[match(others, groups)] <- SE(log_rl)
  out
}

started <- proc.time()[["elapsed"]]
design <- svydesign(ids = ~1, weights = ~w, data = data)
results <- do.call(rbind, unlist(lapply(indicators, function(indicator) {
  lapply(dimensions, function(dimension) {
    one_sweep(design, indicator, dimension, references[[dimension]])
  })
}), recursive = FALSE))
elapsed <- proc.time()[["elapsed"]] - started
write.csv(results, args[2], row.names = FALSE)
cat(sprintf("seconds %.3f\n", elapsed))
