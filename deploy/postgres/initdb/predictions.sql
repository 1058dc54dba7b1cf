-- The API's prediction log (SERVE_PREDICTION_DB), a database of its own beside MLflow's; the API
-- creates its tables. Run once, on a new data folder, by the postgres image or deploy/postgres.
CREATE DATABASE predictions;
