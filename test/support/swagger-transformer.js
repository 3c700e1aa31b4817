// Runs the @nestjs/swagger CLI plugin inside ts-jest, so the spec under test is the one
// `nest build` produces (DTO schemas and examples come from the plugin).
const transformer = require('@nestjs/swagger/plugin');

module.exports.name = 'nestjs-swagger-transformer';
module.exports.version = 1;
module.exports.factory = (cs) =>
  transformer.before(
    { classValidatorShim: true, introspectComments: true, dtoFileNameSuffix: ['.dto.ts'] },
    cs.program,
  );
