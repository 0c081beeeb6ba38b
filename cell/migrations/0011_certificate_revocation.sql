-- Revoking a cluster marks every certificate issued to it revoked, and renewal records a new serial
-- per cluster every two thirds of a certificate's life: both look certificates up by cluster.
CREATE INDEX certificates_by_cluster ON certificates (cluster) WHERE cluster IS NOT NULL;
