package httpapi

// userRoutes registers the user endpoints.
func (s *Server) userRoutes() {}
