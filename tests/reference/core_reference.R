# Reference values for the core comparison statistics of toolkit.stats
# (proportions, relative likelihood, difference, association, multiplicity).
#
# Regenerate (from the repository root; needs r-base-core and r-cran-survey):
#     Rscript tests/reference/core_reference.R
# The input tests/reference/data/core_input.csv is synthetic. If it is missing the script
# first generates it with set.seed(20240626); delete it to regenerate the input too.
# Outputs: tests/reference/expected/core_*.csv (write.csv keeps 15 significant digits).
#
# Conventions mirrored by the Python code (see toolkit/stats/design.py):
# * A domain is "answered the item and belongs to the group". The design is first restricted to
#   the rows that answered (subset() of an uncalibrated design keeps each stratum's PSU count),
#   then svyby() estimates each group inside it; degrees of freedom are those of the group's
#   own subset (degf(): PSUs minus strata present), as svyby(..., svyciprop) uses them.
# * Designs: "weights" = svydesign(ids = ~1, weights = ~w); "clusters" = svydesign(ids = ~psu,
#   weights = ~w); "strata_clusters" = svydesign(ids = ~psu, strata = ~stratum, weights = ~w,
#   nest = TRUE).
suppressPackageStartupMessages(library(survey))

here <- "tests/reference"
input_path <- file.path(here, "data", "core_input.csv")
out <- function(df, name) {
  write.csv(df, file.path(here, "expected", paste0("core_", name, ".csv")), row.names = FALSE)
}

# ---- synthetic input -----------------------------------------------------------------------
make_input <- function() {
  set.seed(20240626)
  n <- 3000
  levels_group <- c("White", "Asian", "Black", "Mixed", "Other")
  group <- sample(levels_group, n, replace = TRUE, prob = c(0.6, 0.18, 0.11, 0.07, 0.04))
  group[sample(n, 8)] <- "Tiny"
  group[sample(which(group != "Tiny"), 30)] <- NA
  disability <- ifelse(runif(n) < 0.2, "Disabled", "Not disabled")
  stratum <- sample(paste0("S", 1:4), n, replace = TRUE)
  psu <- paste0(stratum, "-P", sprintf("%02d", sample(1:15, n, replace = TRUE)))
  w <- round(exp(rnorm(n, 0.5, 0.5)), 4)
  eff <- c(White = 0, Asian = 0.4, Black = 0.6, Mixed = 0.2, Other = -0.3, Tiny = 0)
  gi <- ifelse(is.na(group), 0, eff[ifelse(is.na(group), "White", group)])
  psu_eff <- rnorm(60, 0, 0.3)[as.integer(factor(psu))]
  draw <- function(base, miss) {
    p <- plogis(base + gi + 0.3 * (disability == "Disabled") + psu_eff)
    y <- as.integer(runif(n) < p)
    y[runif(n) < miss] <- NA
    y
  }
  outcome1 <- draw(-0.5, 0.05)
  outcome2 <- draw(-1.8, 0.10)
  outcome3 <- draw(-3.5, 0.03)
  tiny <- which(group == "Tiny")
  outcome2[tiny] <- 1L  # all events in the tiny group
  outcome3[tiny] <- 0L  # zero events in the tiny group
  d <- data.frame(id = 1:n, group, disability, stratum, psu, w, outcome1, outcome2, outcome3)
  write.csv(d, input_path, row.names = FALSE, na = "")
}
if (!file.exists(input_path)) make_input()
d <- read.csv(input_path, na.strings = "")
d$group_disability <- ifelse(is.na(d$group), NA, paste(d$group, d$disability, sep = " × "))
outcomes <- c("outcome1", "outcome2", "outcome3")
dims <- c("group", "disability", "group_disability")
refs <- c(group = "White", disability = "Not disabled", group_disability = "White × Not disabled")
z <- qnorm(0.975)

# ---- unweighted closed forms ---------------------------------------------------------------
wilson <- function(x, n) {
  centre <- (x + z^2 / 2) / (n + z^2)
  half <- z / (n + z^2) * sqrt(x * (n - x) / n + z^2 / 4)
  c(centre - half, centre + half)
}
rows <- list(); rl_rows <- list()
for (y in outcomes) for (dim in dims) {
  ok <- !is.na(d[[y]]) & !is.na(d[[dim]])
  tab <- table(factor(d[[dim]][ok]), factor(d[[y]][ok], levels = c(0, 1)))
  ref <- refs[[dim]]
  for (g in rownames(tab)) {
    x <- tab[g, "1"]; n <- sum(tab[g, ])
    cp <- binom.test(x, n)$conf.int
    rows[[length(rows) + 1]] <- data.frame(
      outcome = y, dimension = dim, group = g, n = n, events = x, estimate = x / n,
      wilson_low = wilson(x, n)[1], wilson_high = wilson(x, n)[2],
      cp_low = cp[1], cp_high = cp[2])
    a <- x; n1 <- n; c0 <- tab[ref, "1"]; n0 <- sum(tab[ref, ])
    rl <- (a / n1) / (c0 / n0)
    se <- sqrt(1 / a - 1 / n1 + 1 / c0 - 1 / n0)
    w1 <- wilson(a, n1); w0 <- wilson(c0, n0); p1 <- a / n1; p0 <- c0 / n0
    rl_rows[[length(rl_rows) + 1]] <- data.frame(
      outcome = y, dimension = dim, group = g, reference_group = ref,
      rel_likelihood = rl, rl_ci_low = exp(log(rl) - z * se), rl_ci_high = exp(log(rl) + z * se),
      p_value = 2 * pnorm(-abs(log(rl) / se)),
      diff = p1 - p0,
      diff_ci_low = p1 - p0 - sqrt((p1 - w1[1])^2 + (w0[2] - p0)^2),
      diff_ci_high = p1 - p0 + sqrt((w1[2] - p1)^2 + (p0 - w0[1])^2))
  }
}
out(do.call(rbind, rows), "proportions_unweighted")
out(do.call(rbind, rl_rows), "comparisons_unweighted")

# ---- weighted: survey designs -----------------------------------------------------------------
designs <- list(
  weights = svydesign(ids = ~1, weights = ~w, data = d),
  clusters = svydesign(ids = ~psu, weights = ~w, data = d),
  strata_clusters = svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE))

safe <- function(expr) tryCatch(suppressWarnings(expr), error = function(e) NA_real_)
wrows <- list(); wcmp <- list()
for (dn in names(designs)) for (y in outcomes) for (dim in dims) {
  f <- as.formula(paste0("~", y)); byf <- as.formula(paste0("~", dim))
  ans <- subset(designs[[dn]], !is.na(d[[y]]) & !is.na(d[[dim]]))
  groups <- sort(unique(ans$variables[[dim]]))
  for (g in groups) {
    dom <- ans[ans$variables[[dim]] == g, ]
    m <- svymean(f, dom)
    logit <- safe(attr(svyciprop(f, dom, method = "logit"), "ci"))
    beta <- safe(attr(svyciprop(f, dom, method = "beta"), "ci"))
    wrows[[length(wrows) + 1]] <- data.frame(
      design = dn, outcome = y, dimension = dim, group = g, n = nrow(dom),
      weighted_n = sum(weights(dom)), estimate = coef(m)[[1]], se = SE(m)[[1]], df = degf(dom),
      logit_low = logit[1], logit_high = logit[2], beta_low = beta[1], beta_high = beta[2])
  }
  b <- svyby(f, byf, ans, svymean, covmat = TRUE)
  ref <- refs[[dim]]
  for (g in groups) {
    if (g == ref) next
    num <- as.name(g); den <- as.name(ref)
    lr <- svycontrast(b, list(lr = bquote(log(.(num) / .(den)))))
    df_ <- svycontrast(b, list(df = bquote(.(num) - .(den))))
    lr_ci <- confint(lr); df_ci <- confint(df_)
    wcmp[[length(wcmp) + 1]] <- data.frame(
      design = dn, outcome = y, dimension = dim, group = g, reference_group = ref,
      log_rl = coef(lr)[[1]], log_rl_se = SE(lr)[[1]],
      rel_likelihood = exp(coef(lr)[[1]]), rl_ci_low = exp(lr_ci[1]), rl_ci_high = exp(lr_ci[2]),
      p_value = 2 * pnorm(-abs(coef(lr)[[1]] / SE(lr)[[1]])),
      diff = coef(df_)[[1]], diff_se = SE(df_)[[1]], diff_ci_low = df_ci[1], diff_ci_high = df_ci[2])
  }
}
out(do.call(rbind, wrows), "proportions_weighted")
out(do.call(rbind, wcmp), "comparisons_weighted")

# ---- association -----------------------------------------------------------------------------
arows <- list()
for (y in outcomes) for (dim in c("group", "disability")) {
  ok <- !is.na(d[[y]]) & !is.na(d[[dim]])
  tab <- table(d[[dim]][ok], d[[y]][ok])
  chi <- suppressWarnings(chisq.test(tab, correct = FALSE))
  fisher <- fisher.test(tab, workspace = 2e8)
  arows[[length(arows) + 1]] <- data.frame(
    design = "none", outcome = y, dimension = dim, min_expected = min(chi$expected),
    chisq_statistic = unname(chi$statistic), chisq_dof = unname(chi$parameter),
    chisq_p = chi$p.value, fisher_p = fisher$p.value,
    rs_statistic = NA, rs_ndf = NA, rs_ddf = NA, rs_p = NA)
  for (dn in names(designs)) {
    ans <- subset(designs[[dn]], ok)
    rs <- svychisq(as.formula(paste0("~", dim, "+", y)), ans, statistic = "F")
    arows[[length(arows) + 1]] <- data.frame(
      design = dn, outcome = y, dimension = dim, min_expected = NA,
      chisq_statistic = NA, chisq_dof = NA, chisq_p = NA, fisher_p = NA,
      rs_statistic = unname(rs$statistic), rs_ndf = unname(rs$parameter[1]),
      rs_ddf = unname(rs$parameter[2]), rs_p = rs$p.value)
  }
}
out(do.call(rbind, arows), "association")

# ---- multiplicity ----------------------------------------------------------------------------
set.seed(7)
p <- c(runif(12)^3, NA, runif(9), NA)
family <- rep(c("a", "b"), c(13, 10))
adj <- data.frame(family = family, p_value = p, bh = NA_real_, holm = NA_real_)
for (fam in unique(family)) {
  i <- family == fam
  adj$bh[i] <- p.adjust(p[i], "BH")
  adj$holm[i] <- p.adjust(p[i], "holm")
}
out(adj, "multiplicity")
