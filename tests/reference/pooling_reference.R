# Reference values for toolkit.stats.pooling, from lme4::glmer (Laplace approximation).
#
# Regenerate (from the repository root; needs r-base-core and r-cran-lme4):
#     Rscript tests/reference/pooling_reference.R
# The input tests/reference/data/pooling_input.csv is synthetic. If it is missing the script
# first generates it with set.seed(20250516); delete it to regenerate the input too.
#
# Input: 20 groups x 7 regions x 2 sectors = 280 cells (events out of n; n from 1 to about 300,
# so some groups are small), true logit = -1.1 + group effect (sd 0.5) + region effect (sd 0.3)
# + 0.4 in "Community pharmacy".
# Models (binomial logit, Laplace, nAGQ = 1), fitted to the cells as rows:
# * crossed:    cbind(events, n - events) ~ 1 + (1 | group) + (1 | region)
# * covariate:  cbind(events, n - events) ~ sector + (1 | group) + (1 | region)
# The optimiser is bobyqa run to rhoend = 1e-10 and PIRLS to tolPwrss = 1e-12, so the reference
# is precise beyond the tests' 1e-4; the script checks that Nelder-Mead agrees to 1e-5.
# Outputs:
# * expected/pooling_glmer.csv: per model, kind "fixed" (fixef, se from vcov(use.hessian =
#   FALSE), the inverse of the penalised information at the optimum), "variance" (VarCorr),
#   "random" (ranef conditional modes, se = sqrt of condVar), "deviance" (-2 log-likelihood as
#   logLik reports it).
# * expected/pooling_fitted.csv: per model and cell, the fitted probability
#   plogis(X beta + Z b).
suppressPackageStartupMessages(library(lme4))

here <- "tests/reference"
input_path <- file.path(here, "data", "pooling_input.csv")

make_input <- function() {
  set.seed(20250516)
  groups <- sprintf("Group %02d", 1:20)
  regions <- c("East of England", "London", "Midlands", "North East and Yorkshire",
               "North West", "South East", "South West")
  sectors <- c("Hospital", "Community pharmacy")
  d <- expand.grid(sector = sectors, region = regions, group = groups,
                   stringsAsFactors = FALSE)[, c("group", "region", "sector")]
  size_g <- exp(seq(log(2), log(120), length.out = 20))[sample(20)]
  size_r <- runif(7, 0.5, 1.5)
  d$n <- pmax(1L, rpois(nrow(d), size_g[match(d$group, groups)] * size_r[match(d$region, regions)]))
  eff_g <- rnorm(20, 0, 0.5)
  eff_r <- rnorm(7, 0, 0.3)
  eta <- -1.1 + eff_g[match(d$group, groups)] + eff_r[match(d$region, regions)] +
    0.4 * (d$sector == "Community pharmacy")
  d$events <- rbinom(nrow(d), d$n, plogis(eta))
  write.csv(d[, c("group", "region", "sector", "events", "n")], input_path, row.names = FALSE)
}
if (!file.exists(input_path)) make_input()
d <- read.csv(input_path)
d$sector <- factor(d$sector, levels = c("Hospital", "Community pharmacy"))

formulas <- list(
  crossed = cbind(events, n - events) ~ 1 + (1 | group) + (1 | region),
  covariate = cbind(events, n - events) ~ sector + (1 | group) + (1 | region))
fit <- function(f, optimizer, opt_ctrl) {
  glmer(f, data = d, family = binomial, nAGQ = 1,
        control = glmerControl(optimizer = optimizer, optCtrl = opt_ctrl, tolPwrss = 1e-12,
                               check.conv.singular = "ignore"))
}

rows <- list()
fitted_rows <- list()
for (model in names(formulas)) {
  m <- fit(formulas[[model]], "bobyqa", list(rhoend = 1e-10, maxfun = 1e5))
  check <- fit(formulas[[model]], "Nelder_Mead", list(FtolAbs = 1e-14, FtolRel = 1e-14,
                                                     XtolRel = 1e-12, maxfun = 1e5))
  stopifnot(max(abs(c(getME(m, "theta") - getME(check, "theta"),
                      fixef(m) - fixef(check)))) < 1e-5)
  fe <- fixef(m)
  rows[[length(rows) + 1]] <- data.frame(
    model = model, kind = "fixed", term = names(fe), level = "", estimate = unname(fe),
    se = sqrt(diag(as.matrix(vcov(m, use.hessian = FALSE)))))
  vc <- as.data.frame(VarCorr(m))
  rows[[length(rows) + 1]] <- data.frame(
    model = model, kind = "variance", term = vc$grp, level = "", estimate = vc$vcov, se = NA)
  re <- as.data.frame(ranef(m, condVar = TRUE))
  rows[[length(rows) + 1]] <- data.frame(
    model = model, kind = "random", term = as.character(re$grpvar),
    level = as.character(re$grp), estimate = re$condval, se = re$condsd)
  rows[[length(rows) + 1]] <- data.frame(
    model = model, kind = "deviance", term = "-2 log-likelihood", level = "",
    estimate = -2 * as.numeric(logLik(m)), se = NA)
  fitted_rows[[length(fitted_rows) + 1]] <- data.frame(
    model = model, group = d$group, region = d$region, sector = as.character(d$sector),
    fitted = unname(fitted(m)))
}
write.csv(do.call(rbind, rows), file.path(here, "expected", "pooling_glmer.csv"),
          row.names = FALSE)
write.csv(do.call(rbind, fitted_rows), file.path(here, "expected", "pooling_fitted.csv"),
          row.names = FALSE)
