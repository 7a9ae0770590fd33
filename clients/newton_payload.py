"""A site's Newton payload: log-loss sum, gradient and Hessian of its rows at candidate parameters.

For parameters theta = [w (d), b] and rows x~ = [x, 1] with labels y and p = sigmoid(x~ . theta)
the site returns, for every candidate theta the server sent, the *unregularised* sums

    loss = sum_i log(1 + e^z_i) - y_i z_i,   g = sum_i (p_i - y_i) x~_i,
    H = sum_i p_i (1 - p_i) x~_i x~_i^T.

The server (`strategy.newton`) multiplies by C and adds the L2 term 0.5 ||w||^2 once, so the
pooled objective is exactly scikit-learn's C * sum_i logloss_i + 0.5 ||w||^2 (intercept not
penalised) whichever sites reply.

What these sums reveal, compared with a FedAvg weight update (d + 1 numbers after several
optimisation steps): a Hessian is (d+1)(d+2)/2 numbers of second moments of the site's own
rows. At the first round (theta = 0, every p_i = 1/2) it is exactly X~^T X~ / 4: the row
count, every column sum and every pairwise cross-product. For one-hot columns that is the count
of each category and the co-occurrence count of every pair of categories (customers with fibre
internet AND a monthly contract, ...); for standardised numeric columns the site's means,
variances and covariances. Together with the first gradient (sum_i (1/2 - y_i) x~_i) it gives
the site's churn count and the number of churners in every category: the site's complete
category x category and category x churn cross-tables. A site with fewer rows than features
has a Hessian of rank <= its row count; its eigenvectors span the rows themselves (one row is
recovered exactly from x~ x~^T / 4, the intercept fixing the sign), and every further round and
candidate adds another differently weighted Gram matrix, so a few binary rows and their labels
can often be solved for. Treat a Newton reply as releasing the site's sufficient statistics:
use it with secure aggregation (Newton needs only the sums, so it composes with SecAgg where a
per-site weight update check would not), a minimum site size well above d (`client.min_rows`),
and, for a formal guarantee, clipped rows and Gaussian noise on g and H (the noisy H then
needs damping to stay positive definite). The Kafka mirror carries only digests of these
payloads, never their values.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit


def with_intercept(features: np.ndarray) -> np.ndarray:
    """[X, 1]: the design matrix whose last column multiplies the intercept."""
    features = np.asarray(features, dtype=np.float64)
    return np.hstack([features, np.ones((features.shape[0], 1))])


def newton_payload(candidates: np.ndarray, features: np.ndarray, target: np.ndarray
                   ) -> list[np.ndarray]:
    """[losses (m,), gradients (m, d+1), hessians (m, d+1, d+1)] of the site's rows at each of
    the m candidate parameter vectors (rows of `candidates`, each [w, b])."""
    thetas = np.atleast_2d(np.asarray(candidates, dtype=np.float64))
    design = with_intercept(features)
    if thetas.shape[1] != design.shape[1]:
        raise ValueError(f"candidates have {thetas.shape[1]} parameters, the site's rows "
                         f"{design.shape[1]} (features + intercept)")
    labels = np.asarray(target, dtype=np.float64)
    losses, gradients, hessians = [], [], []
    for theta in thetas:
        z = design @ theta
        p = expit(z)
        losses.append(float(np.sum(np.logaddexp(0.0, z) - labels * z)))
        gradients.append(design.T @ (p - labels))
        hessian = (design.T * (p * (1.0 - p))) @ design
        hessians.append((hessian + hessian.T) / 2.0)  # exactly symmetric
    return [np.asarray(losses), np.stack(gradients), np.stack(hessians)]
