# Reference values for toolkit.stats.survival and toolkit.stats.trends.
#
# Generates the shipped data sets with a fixed seed and writes the values R's `survival`
# (survfit conf.type = "log", coxph ties = "efron" and "breslow", survdiff) and base R `glm` /
# `survey::svyglm(quasibinomial)` (outcome ~ group * cycle) produce on them.
#
# Regenerate from the repository root (needs r-base-core, r-cran-survival, r-cran-survey):
#   Rscript tests/reference/time_reference.R
# Outputs: tests/reference/data/time_*.csv and tests/reference/expected/time_*.csv.

suppressPackageStartupMessages({
  library(survival)
  library(survey)
})

data_dir <- "tests/reference/data"
expected_dir <- "tests/reference/expected"
write_out <- function(frame, path) {
  write.csv(frame, path, row.names = FALSE, na = "")
}
options(digits = 17)

# ---- Time in post: three groups, tied times (quarter years), random and administrative censoring
set.seed(20240626)
group <- rep(c("White", "Asian", "Black"), times = c(110, 80, 60))
n <- length(group)
age <- round(rnorm(n, mean = 40, sd = 9))
sector <- sample(c("hospital", "community pharmacy"), n, replace = TRUE, prob = c(0.6, 0.4))
rate <- 0.25 * c(White = 1, Asian = 1.5, Black = 1.9)[group] *
  exp(0.02 * (age - 40) + 0.3 * (sector == "community pharmacy"))
latent <- rexp(n, rate)
censor <- pmin(runif(n, 0.5, 8), 5)
time <- ceiling(pmin(latent, censor) * 4) / 4
event <- as.integer(latent <= censor)
survival_data <- data.frame(time = time, event = event, group = group, age = age, sector = sector)
write_out(survival_data, file.path(data_dir, "time_survival.csv"))

survival_data$group <- relevel(factor(survival_data$group), ref = "White")
# sector keeps R's default (alphabetical) reference level, "community pharmacy", as ptw does

fit <- survfit(Surv(time, event) ~ group, data = survival_data, conf.type = "log")
strata_names <- sub("^group=", "", names(fit$strata))
curve <- data.frame(
  group = rep(strata_names, times = fit$strata),
  time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, n_censor = fit$n.censor,
  survival = fit$surv, se = fit$surv * fit$std.err, ci_low = fit$lower, ci_high = fit$upper
)
write_out(curve, file.path(expected_dir, "time_km_curve.csv"))

table <- summary(fit)$table
km_summary <- data.frame(
  group = sub("^group=", "", rownames(table)), n = table[, "records"], events = table[, "events"],
  median = table[, "median"], median_ci_low = table[, "0.95LCL"],
  median_ci_high = table[, "0.95UCL"]
)
write_out(km_summary, file.path(expected_dir, "time_km_summary.csv"))

at <- summary(fit, times = c(1, 2, 3))
km_at <- data.frame(
  group = sub("^group=", "", as.character(at$strata)), time = at$time,
  survival = at$surv, ci_low = at$lower, ci_high = at$upper
)
write_out(km_at, file.path(expected_dir, "time_km_at.csv"))

cox_rows <- list()
for (ties in c("efron", "breslow")) {
  for (model in c("group", "group + age + sector")) {
    formula <- as.formula(paste("Surv(time, event) ~", model))
    cfit <- coxph(formula, data = survival_data, ties = ties)
    s <- summary(cfit)$coefficients
    ci <- exp(confint(cfit))
    cox_rows[[length(cox_rows) + 1]] <- data.frame(
      ties = ties, model = model, term = rownames(s), estimate = s[, "coef"],
      hazard_ratio = s[, "exp(coef)"], se = s[, "se(coef)"],
      ci_low = ci[, 1], ci_high = ci[, 2], p_value = s[, "Pr(>|z|)"]
    )
  }
}
write_out(do.call(rbind, cox_rows), file.path(expected_dir, "time_cox.csv"))

lr <- survdiff(Surv(time, event) ~ group, data = survival_data)
write_out(
  data.frame(statistic = lr$chisq, dof = length(lr$n) - 1,
             p_value = pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE)),
  file.path(expected_dir, "time_logrank.csv")
)

# ---- Trend in a gap: four cycles, a gap that narrows for Asian and is constant for Black
set.seed(20250401)
cycles <- 2022:2025
per_cycle <- 700
trend_data <- do.call(rbind, lapply(cycles, function(cy) {
  g <- sample(c("White", "Asian", "Black"), per_cycle, replace = TRUE, prob = c(0.6, 0.25, 0.15))
  sec <- sample(c("hospital", "community pharmacy"), per_cycle, replace = TRUE)
  step <- cy - 2022
  eta <- -1.4 + c(White = 0, Asian = 0.9 - 0.25 * step, Black = 0.6)[g] +
    0.3 * (sec == "community pharmacy")
  y <- rbinom(per_cycle, 1, plogis(eta))
  w <- round(exp(rnorm(per_cycle, 0, 0.4)) * (1 + 0.5 * (g != "White")), 4)
  data.frame(cycle = cy, group = g, sector = sec, outcome = y, weight = w)
}))
write_out(trend_data, file.path(data_dir, "time_trend.csv"))

trend_data$group <- relevel(factor(trend_data$group), ref = "White")
trend_data$sector <- relevel(factor(trend_data$sector), ref = "hospital")
# cycle is centred on the mean of the distinct cycle values
trend_data$cycle_c <- trend_data$cycle - mean(unique(trend_data$cycle))

trend_rows <- list()
design <- svydesign(ids = ~1, weights = ~weight, data = trend_data)
for (covariates in c("", " + sector")) {
  formula <- as.formula(paste0("outcome ~ group * cycle_c", covariates))
  gfit <- glm(formula, family = binomial, data = trend_data)
  s <- summary(gfit)$coefficients
  ci <- confint.default(gfit)
  trend_rows[[length(trend_rows) + 1]] <- data.frame(
    model = "glm binomial", covariates = trimws(sub("\\+", "", covariates)),
    term = rownames(s), estimate = s[, 1], se = s[, 2], p_value = s[, 4],
    ci_low = ci[, 1], ci_high = ci[, 2]
  )
  sfit <- svyglm(formula, design = design, family = quasibinomial)
  s <- summary(sfit)$coefficients
  ci <- confint(sfit)
  trend_rows[[length(trend_rows) + 1]] <- data.frame(
    model = "svyglm quasibinomial", covariates = trimws(sub("\\+", "", covariates)),
    term = rownames(s), estimate = s[, 1], se = s[, 2], p_value = s[, 4],
    ci_low = ci[, 1], ci_high = ci[, 2]
  )
}
write_out(do.call(rbind, trend_rows), file.path(expected_dir, "time_trend_models.csv"))
