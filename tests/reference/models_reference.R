# Reference values for toolkit.stats.models, toolkit.stats.likert and toolkit.weights.
#
# Regenerate (from the repository root; needs r-base-core, r-cran-survey and r-cran-mass):
#     Rscript tests/reference/models_reference.R
# The input tests/reference/data/models_input.csv is synthetic. If it is missing the script
# first generates it with set.seed(20250405); delete it to regenerate the input too.
# Outputs: tests/reference/expected/models_*.csv (numbers written with 17 significant digits).
#
# What each file holds and how R computes it:
# * models_logistic.csv: glm(binomial) (Wald z intervals, confint.default) and
#   svyglm(quasibinomial) on svydesign(ids = ~1, weights = ~w) declared on the whole data
#   (Wald t intervals on the residual design df, confint.svyglm); unadjusted (ethnicity) and
#   adjusted (+ sector, career_stage, region). Complete cases per model. The rows of the
#   separable group "Arab" (no events) are removed first, so the tests fit the same data.
# * models_polr.csv: MASS::polr(q1 ~ ...) on the same designs (unweighted), "Arab" left out
#   (every answer is 1: separated).
# * models_rake.csv: survey::rake() of the weights-only design to the margins in
#   models_margins.csv (region, sector, career_stage), from the design weights and from 1.
# * models_alpha.csv: Cronbach's alpha by its closed formula with Feldt's F interval, listwise.
# * models_scale_scores.csv: NHS Staff Survey scoring of q1..q5 (q3 reversed), 0/2.5/5/7.5/10,
#   mean of answered items, NA when fewer than 3 answered.
# * models_favourable.csv: % favourable (4 or 5) on q1 by ethnicity: Wilson (prop.test without
#   continuity correction) and, weighted, svyciprop(method = "logit") in each group's domain
#   of the design declared on the whole data.
# * models_mean.csv: mean score of q1 by ethnicity: unweighted mean, sd; weighted svymean
#   (domains as for models_favourable.csv).
# * models_rank.csv: wilcox.test (normal approximation with continuity correction) of each
#   group vs White on q1, and kruskal.test over all groups.
suppressPackageStartupMessages({
  library(survey)
  library(MASS)
})

here <- "tests/reference"
input_path <- file.path(here, "data", "models_input.csv")
out <- function(df, name) {
  write.csv(df, file.path(here, "expected", paste0("models_", name, ".csv")), row.names = FALSE)
}
options(digits = 17)

eth_levels <- c("White", "Asian", "Black", "Mixed", "Other", "Arab")
sector_levels <- c("Hospital", "Community pharmacy", "General practice", "Other sector")
stage_levels <- c("Over 10 years", "PTPT trainee", "Under 2 years", "2 to 5 years", "5 to 10 years")
region_levels <- c("East of England", "London", "Midlands", "North East and Yorkshire",
                   "North West", "South East", "South West")

# ---- synthetic input -----------------------------------------------------------------------
make_input <- function() {
  set.seed(20250405)
  n <- 4000
  ethnicity <- sample(eth_levels[1:5], n, replace = TRUE, prob = c(0.62, 0.18, 0.1, 0.06, 0.04))
  ethnicity[sample(n, 9)] <- "Arab"
  ethnicity[sample(which(ethnicity != "Arab"), 40)] <- NA
  sector <- sample(sector_levels, n, replace = TRUE, prob = c(0.45, 0.35, 0.12, 0.08))
  career_stage <- sample(stage_levels, n, replace = TRUE, prob = c(0.3, 0.15, 0.15, 0.2, 0.2))
  region <- sample(region_levels, n, replace = TRUE)
  region[sample(n, 25)] <- NA
  w <- round(exp(rnorm(n, 0.3, 0.45)), 4)
  eff_eth <- c(White = 0, Asian = 0.35, Black = 0.6, Mixed = 0.2, Other = -0.25, Arab = 0)
  eff_sector <- c(0, 0.4, -0.2, 0.1); names(eff_sector) <- sector_levels
  eff_stage <- c(0, -0.3, 0.2, 0.1, 0); names(eff_stage) <- stage_levels
  eth0 <- ifelse(is.na(ethnicity), "White", ethnicity)
  eta <- eff_eth[eth0] + eff_sector[sector] + eff_stage[career_stage] +
    ifelse(!is.na(region) & region == "London", 0.3, 0)
  outcome <- as.integer(runif(n) < plogis(-1 + eta))
  outcome[runif(n) < 0.04] <- NA
  outcome[ethnicity %in% "Arab"] <- 0L
  trait <- rnorm(n, 0, 1.6)  # person-level attitude shared by the items of the scale
  likert <- function(shift, miss) {
    latent <- -0.8 * eta + trait + shift + rlogis(n)
    q <- as.integer(cut(latent, c(-Inf, -2, -0.8, 0.3, 1.6, Inf)))
    q[runif(n) < miss] <- NA
    q
  }
  q1 <- likert(0.5, 0.03); q2 <- likert(0.3, 0.05); q4 <- likert(0.6, 0.04)
  q5 <- likert(0.2, 0.08)
  q3 <- 6L - likert(0.4, 0.06)  # negatively worded: agreement is unfavourable
  q1[ethnicity %in% "Arab"] <- 1L
  d <- data.frame(id = 1:n, ethnicity, sector, career_stage, region, w, outcome,
                  q1, q2, q3, q4, q5)
  write.csv(d, input_path, row.names = FALSE, na = "")
}
if (!file.exists(input_path)) make_input()
d <- read.csv(input_path, na.strings = "")
d$ethnicity <- factor(d$ethnicity, levels = eth_levels)
d$sector <- factor(d$sector, levels = sector_levels)
d$career_stage <- factor(d$career_stage, levels = stage_levels)
d$region <- factor(d$region, levels = region_levels)

# ---- logistic regression -------------------------------------------------------------------
covariates <- c("sector", "career_stage", "region")
ctrl <- glm.control(epsilon = 1e-14, maxit = 100)
coef_rows <- function(fit, se, p, ci, design, model) {
  rows <- list()
  for (v in c("ethnicity", covariates)) {
    for (lv in levels(d[[v]])[-1]) {
      term <- paste0(v, lv)
      if (!term %in% names(coef(fit))) next
      rows[[length(rows) + 1]] <- data.frame(
        design = design, model = model, variable = v, level = lv,
        estimate = coef(fit)[[term]], se = se[[term]], p_value = p[[term]],
        ci_low = exp(ci[term, 1]), ci_high = exp(ci[term, 2]))
    }
  }
  do.call(rbind, rows)
}
# The weighted design is declared on the whole data (without the separable group), as an
# analyst would; svyglm() then drops incomplete rows from the fit but keeps them in the design
# (their estimating-function rows are zero), so n in n/(n-1) counts every row of the data while
# the residual df counts complete cases.
dd <- d[!(d$ethnicity %in% "Arab"), ]
dd$ethnicity <- droplevels(dd$ethnicity)
full_design <- svydesign(ids = ~1, weights = ~w, data = dd)
logit_rows <- list()
for (model in c("unadjusted", "adjusted")) {
  vars <- c("ethnicity", if (model == "adjusted") covariates)
  f <- as.formula(paste("outcome ~", paste(vars, collapse = " + ")))
  g <- glm(f, family = binomial, data = dd, control = ctrl)
  sg <- summary(g)$coefficients
  logit_rows[[length(logit_rows) + 1]] <- coef_rows(
    g, sg[, 2], sg[, 4], confint.default(g), "unweighted", model)
  s <- svyglm(f, design = full_design, family = quasibinomial, control = ctrl)
  ss <- summary(s)$coefficients
  logit_rows[[length(logit_rows) + 1]] <- coef_rows(
    s, ss[, 2], ss[, 4], confint(s), "weights", model)
}
out(do.call(rbind, logit_rows), "logistic")

# ---- proportional odds ---------------------------------------------------------------------
polr_rows <- list()
for (model in c("unadjusted", "adjusted")) {
  vars <- c("q1", "ethnicity", if (model == "adjusted") covariates)
  fd <- d[complete.cases(d[, vars]) & d$ethnicity != "Arab", ]
  fd$ethnicity <- droplevels(fd$ethnicity)
  fd$q1 <- factor(fd$q1, levels = 1:5, ordered = TRUE)
  f <- as.formula(paste("q1 ~", paste(vars[-1], collapse = " + ")))
  m <- polr(f, data = fd, Hess = TRUE, control = list(reltol = 1e-15, maxit = 1000))
  se <- sqrt(diag(vcov(m)))
  for (v in vars[-1]) for (lv in levels(fd[[v]])[-1]) {
    term <- paste0(v, lv)
    polr_rows[[length(polr_rows) + 1]] <- data.frame(
      model = model, variable = v, level = lv, estimate = coef(m)[[term]], se = se[[term]])
  }
}
out(do.call(rbind, polr_rows), "polr")

# ---- raking --------------------------------------------------------------------------------
margins <- rbind(
  data.frame(variable = "region", level = region_levels,
             total = c(2900, 4100, 5200, 4300, 3600, 3700, 2200)),
  data.frame(variable = "sector", level = sector_levels, total = c(11000, 9500, 3500, 2000)),
  data.frame(variable = "career_stage", level = stage_levels,
             total = c(8000, 3000, 4500, 5500, 5000)))
out(margins, "margins")
rd <- d[!is.na(d$region), ]
rake_from <- function(design) {
  pop <- lapply(c("region", "sector", "career_stage"), function(v) {
    m <- margins[margins$variable == v, ]
    df <- data.frame(factor(m$level, levels = levels(d[[v]])), m$total)
    names(df) <- c(v, "Freq")
    df
  })
  r <- rake(design, list(~region, ~sector, ~career_stage), pop,
            control = list(maxit = 1000, epsilon = 1e-11))
  weights(r)
}
rd$one <- 1
out(data.frame(id = rd$id,
               weight_from_w = rake_from(svydesign(ids = ~1, weights = ~w, data = rd)),
               weight_from_1 = rake_from(svydesign(ids = ~1, weights = ~one, data = rd))),
    "rake")

# ---- scale scores and Cronbach's alpha -------------------------------------------------------
items <- paste0("q", 1:5)
points <- c(0, 2.5, 5, 7.5, 10)
scored <- sapply(items, function(q) points[if (q == "q3") 6L - d[[q]] else d[[q]]])
answered <- rowSums(!is.na(scored))
score <- ifelse(answered >= 3, rowMeans(scored, na.rm = TRUE), NA)
out(data.frame(id = d$id, score = score), "scale_scores")

alpha_row <- function(x, name) {
  x <- x[complete.cases(x), ]
  k <- ncol(x); n <- nrow(x)
  a <- k / (k - 1) * (1 - sum(apply(x, 2, var)) / var(rowSums(x)))
  data.frame(scale = name, alpha = a,
             ci_low = 1 - (1 - a) * qf(0.975, n - 1, (n - 1) * (k - 1)),
             ci_high = 1 - (1 - a) * qf(0.025, n - 1, (n - 1) * (k - 1)),
             n = n, n_items = k)
}
rev_d <- d; rev_d$q3 <- 6L - rev_d$q3
out(rbind(alpha_row(d[, c("q1", "q2", "q4", "q5")], "q1_q2_q4_q5"),
          alpha_row(rev_d[, items], "q1_to_q5_q3_reversed")), "alpha")

# ---- % favourable, means and rank tests on q1 by ethnicity ----------------------------------
fav_rows <- list(); mean_rows <- list()
# Domains stay inside the design declared on the whole data (as toolkit.stats.proportions):
# subset() to those who answered and have a group, then each group's rows.
d$fav <- as.integer(d$q1 %in% c(4, 5))
d$fav[is.na(d$q1)] <- NA
ans <- d[!is.na(d$q1) & !is.na(d$ethnicity), ]
des <- subset(svydesign(ids = ~1, weights = ~w, data = d), !is.na(q1) & !is.na(ethnicity))
for (g in eth_levels) {
  x <- sum(ans$fav[ans$ethnicity == g]); n <- sum(ans$ethnicity == g)
  ci <- prop.test(x, n, correct = FALSE)$conf.int
  dom <- des[des$variables$ethnicity %in% g, ]
  wci <- tryCatch(attr(svyciprop(~fav, dom, method = "logit"), "ci"),
                  error = function(e) c(NA, NA))
  est <- coef(svymean(~fav, dom))[[1]]
  fav_rows[[length(fav_rows) + 1]] <- data.frame(
    group = g, n = n, favourable = x, estimate = x / n, ci_low = ci[1], ci_high = ci[2],
    weighted_estimate = est, weighted_ci_low = wci[1], weighted_ci_high = wci[2])
  q <- ans$q1[ans$ethnicity == g]
  m <- svymean(~q1, dom)
  mean_rows[[length(mean_rows) + 1]] <- data.frame(
    group = g, n = n, mean = mean(q), sd = sd(q),
    weighted_mean = coef(m)[[1]], weighted_se = SE(m)[[1]])
}
out(do.call(rbind, fav_rows), "favourable")
out(do.call(rbind, mean_rows), "mean")

rank_rows <- list()
for (g in eth_levels[-1]) {
  x <- ans$q1[ans$ethnicity == g]; y <- ans$q1[ans$ethnicity == "White"]
  t <- wilcox.test(x, y, exact = FALSE, correct = TRUE)
  rank_rows[[length(rank_rows) + 1]] <- data.frame(
    test = "mann_whitney", group = g, reference_group = "White", statistic = t$statistic[[1]],
    dof = NA, p_value = t$p.value, cles = t$statistic[[1]] / (length(x) * length(y)))
}
kw <- kruskal.test(q1 ~ ethnicity, data = ans)
rank_rows[[length(rank_rows) + 1]] <- data.frame(
  test = "kruskal_wallis", group = NA, reference_group = NA, statistic = kw$statistic[[1]],
  dof = kw$parameter[[1]], p_value = kw$p.value,
  cles = NA)
out(do.call(rbind, rank_rows), "rank")
