// Moved to manifest-check/, which the package ships for its validation plugin; the app keeps reading it here.
export * from '../../manifest-check/label-selector';
