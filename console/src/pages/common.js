// Names the API uses, shared by several pages.
export const ARTIFACT_TYPES = ["feature_pipeline", "model_template", "schema", "notebook", "dataset", "model"];
export const PROBLEM_CLASSES = ["classification", "regression", "forecasting", "nlp", "computer_vision",
  "recommendation", "clustering", "anomaly_detection", "other"];
export const MEMBER_ROLES = ["data_engineer", "ml_scientist", "ml_engineer", "analyst", "devops", "product"];
export const EXPERIENCE_LEVELS = ["junior", "mid", "senior", "principal"];
export const ROLES = ["admin", "developer", "viewer"];
