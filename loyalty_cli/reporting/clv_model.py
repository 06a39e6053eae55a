"""The customer-base models behind `report clv`: pure maths on numpy arrays, no database.

- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way: an alternative to
  the Pareto/NBD model", Marketing Science 24(2)): how often each customer comes back and the
  probability they still are a customer, from their frequency x (repeat purchase occasions),
  recency t_x and age T (the same time unit throughout).
- Gamma-Gamma (Fader & Hardie, "The Gamma-Gamma model of monetary value", 2013): what a
  customer spends per occasion, from x and the mean m of their repeat occasions' spend.

Both are fitted by maximum likelihood over the logarithms of their parameters (every parameter
is positive, and a log scale keeps the optimiser's steps sensible whatever the currency or
time unit). Log-likelihoods use gammaln/betaln and logaddexp, never a Gamma or a power that
overflows. The conditional expectation uses Euler's transformation of its hypergeometric
function (Fader & Hardie's note "Overcoming the BG/NBD model's #NUM! error problem", 2013):
the textbook form overflows once a customer has a few hundred repeat visits.

scipy and numpy are the optional 'stats' extra: only `report clv` (and at-risk's p_alive)
import this module, and they say how to install it when it is missing.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

LOG_BOUND = 15.0  # every log-parameter stays within ±15 (3e-7 .. 3e6): far beyond any real fit


class FitError(ValueError):
    """The data cannot identify the model (no repeat customers, say), or the optimiser failed."""


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int

    def _log_dropout_odds(self, x, t_x, T):
        """log of (a / (b + x - 1)) ((alpha + T) / (alpha + t_x))^(r + x), where x > 0: the odds
        that a customer has already dropped out rather than still buys but has not yet."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        repeat = x > 0
        safe_x = np.where(repeat, x, 1.0)  # keeps b + x - 1 positive where the term is unused
        odds = (np.log(self.a) - np.log(self.b + safe_x - 1)
                + (self.r + safe_x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
        return np.where(repeat, odds, -np.inf)

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """P(still a customer | x, t_x, T); 1 for a customer with no repeat purchase (the model
        lets a customer drop out only just after a purchase)."""
        return expit(-self._log_dropout_odds(x, t_x, T))

    def expected_visits(self, t: float, x, t_x, T) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (the paper's equation 10).

        The term ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z), z = t/(alpha+T+t),
        becomes (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z) by Euler's transformation: no
        parameter of that hypergeometric function grows with x, so it neither overflows nor
        loses its digits for a customer with hundreds of visits.
        """
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        r, alpha, b = self.r, self.alpha, self.b
        # (1 - tail) / (a - 1) has a finite limit at a = 1 that the formula cannot take: step
        # a millionth aside (a fitted a is never exactly 1; this only keeps a 0/0 out).
        a = self.a if abs(self.a - 1) > 1e-6 else 1 + 1e-6
        z = t / (alpha + T + t)
        tail = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        return (a + b + x - 1) / (a - 1) * (1 - tail) * self.p_alive(x, t_x, T)


def bgnbd_log_likelihood(params, x, t_x, T, gradient: bool = False):
    """Each customer's log-likelihood (the paper's equation 6), in log space throughout; with
    `gradient`, also its derivatives by the logarithm of each parameter (4 rows), which spare
    the optimiser four extra evaluations a step."""
    r, alpha, a, b = params
    # The special functions of x alone are taken once per distinct x (a shop's 20,000 customers
    # have a few hundred): betaln is slow where a fit wanders (a tiny, b huge).
    counts, at = np.unique(x, return_inverse=True)
    common = (gammaln(r + counts) + betaln(a, b + counts))[at] - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    log_still = np.log(alpha + T)
    still = -(r + x) * log_still
    repeat = x > 0
    safe_x = np.where(repeat, x, 1.0)
    log_dropped = np.log(alpha + t_x)
    dropped = np.where(repeat, np.log(a) - np.log(b + safe_x - 1) - (r + safe_x) * log_dropped, -np.inf)
    total = np.logaddexp(still, dropped)
    if not gradient:
        return common + total
    w_still, w_dropped = np.exp(still - total), np.exp(dropped - total)  # shares of the two terms
    psi_r, psi_b, psi_ab = (digamma(shape + counts)[at] for shape in (r, b, a + b))
    d_r = psi_r - digamma(r) + np.log(alpha) - w_still * log_still - w_dropped * log_dropped
    d_alpha = r / alpha - (r + x) * (w_still / (alpha + T) + w_dropped / (alpha + t_x))
    d_a = digamma(a + b) - psi_ab + w_dropped / a
    d_b = psi_b - psi_ab - digamma(b) + digamma(a + b) - w_dropped / (b + safe_x - 1)
    return common + total, np.array([r * d_r, alpha * d_alpha, a * d_a, b * d_b])


def fit_bgnbd(x, t_x, T) -> BgNbd:
    """The maximum-likelihood BG/NBD of a customer base (x repeat occasions, t_x, T in one unit).

    Customers with the same (x, t_x, T) are weighed together: a shop's thousands of one-visit
    customers of the same week cost one term, not thousands."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if x.size == 0:
        raise FitError("no customers to fit")
    if not (x > 0).any():
        raise FitError("no customer has come back yet: nothing to learn a rhythm from")
    (x, t_x, T), weight = _collapse(x, t_x, T)
    share = weight / weight.sum()

    def loss(log_params):
        each, gradient = bgnbd_log_likelihood(np.exp(log_params), x, t_x, T, gradient=True)
        # Sums rather than matrix products: those would wake BLAS's threads for four numbers.
        return -(share * each).sum(), -(gradient * share).sum(axis=1)

    start = np.array([0.0, np.log(max(T.mean(), 1e-3)), 0.0, 0.0])
    best = _minimise(loss, start)
    r, alpha, a, b = np.exp(best)
    log_likelihood = (weight * bgnbd_log_likelihood((r, alpha, a, b), x, t_x, T)).sum()
    return BgNbd(float(r), float(alpha), float(a), float(b), float(log_likelihood), int(weight.sum()))


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    customers: int

    def expected_spend(self, x, m) -> np.ndarray:
        """E[spend per occasion | x repeat occasions of mean m]: a weighted mean of the
        population's mean (gamma p / (q - 1)) and the customer's own, more of their own the
        more they have bought. Needs q > 1 (else the population mean is infinite)."""
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        m = np.where(x > 0, m, 0.0)  # no repeat occasion: the population's mean alone
        return (self.gamma + m * x) * self.p / (self.p * x + self.q - 1)


def gamma_gamma_log_likelihood(params, x, m, gradient: bool = False):
    """Each customer's log-likelihood of their mean spend m over x repeat occasions (m > 0);
    with `gradient`, also its derivatives by the logarithm of each parameter (3 rows)."""
    p, q, gamma = params
    px = p * x
    log_spent = np.log(gamma + m * x)
    each = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_spent)
    if not gradient:
        return each
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_spent)
    d_q = digamma(px + q) - digamma(q) + np.log(gamma) - log_spent
    d_gamma = q / gamma - (px + q) / (gamma + m * x)
    return each, np.array([p * d_p, q * d_q, gamma * d_gamma])


def fit_gamma_gamma(x, m) -> GammaGamma:
    """The maximum-likelihood Gamma-Gamma of customers with x > 0 repeat occasions of mean
    spend m > 0 (the model takes log m: callers leave out the others)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    if x.size < 2:
        raise FitError("fewer than two customers have come back and spent: too few to fit spend")
    if (x <= 0).any() or (m <= 0).any():
        raise ValueError("the Gamma-Gamma fit takes customers with x > 0 and m > 0 only")

    def loss(log_params):
        each, gradient = gamma_gamma_log_likelihood(np.exp(log_params), x, m, gradient=True)
        return -each.mean(), -gradient.mean(axis=1)

    best = _minimise(loss, np.array([0.0, np.log(2.0), np.log(m.mean())]))
    p, q, gamma = np.exp(best)
    return GammaGamma(float(p), float(q), float(gamma), int(x.size))


def _minimise(loss, start: np.ndarray) -> np.ndarray:
    """The log-parameters that minimise `loss` (a mean negative log-likelihood, so its scale
    does not grow with the number of customers; it returns its gradient too), within ±LOG_BOUND."""
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(-LOG_BOUND, LOG_BOUND)] * start.size,
                      options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9})
    if not np.isfinite(result.fun):
        raise FitError(f"the fit did not converge ({result.message})")
    return result.x


def _collapse(*columns):
    """The distinct rows of equal-length columns, and how many times each occurs."""
    rows, counts = np.unique(np.column_stack(columns), axis=0, return_counts=True)
    return tuple(rows.T), counts.astype(float)
